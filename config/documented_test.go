package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocumented checks that every key the decoder accepts is shown in config.toml.example (possibly
// commented out) and documented in docs/configuration.md, each in the section of its own table: a key
// name that another table also has (listen, keep, name, ...) does not count for this one.
func TestDocumented(t *testing.T) {
	example, err := os.ReadFile("../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for table, keys := range tableKeys() {
		ex := exampleSection(string(example), table)
		doc := docsSection(string(docs), table)
		if ex == "" {
			t.Errorf("config.toml.example has no [%s] table, not even commented out", table)
		}
		if doc == "" {
			t.Errorf("docs/configuration.md has no section ## `[%s]` (or `[[%s]]`)", table, table)
		}
		for _, key := range keys {
			if ex != "" && !regexp.MustCompile(`(?m)(^|[\s{,#])`+regexp.QuoteMeta(key)+` *=`).MatchString(ex) {
				t.Errorf("config.toml.example does not show %s.%s", table, key)
			}
			if doc != "" && !strings.Contains(doc, "`"+key+"`") && !strings.Contains(doc, "[]."+key+"`") {
				t.Errorf("docs/configuration.md does not document %s.%s in its section", table, key)
			}
		}
	}
}

// TestDocumentedSeesMissing: the section finders do not see a key outside its table's section.
func TestDocumentedSeesMissing(t *testing.T) {
	const example = "[server]\nlisten = []\n# [mrt]\n# keep = 3\n\n[[member]]\nname = \"x\"\n"
	if ex := exampleSection(example, "mrt"); !strings.Contains(ex, "keep =") || strings.Contains(ex, "listen") || strings.Contains(ex, "name") {
		t.Errorf("[mrt] section %q", ex)
	}
	if ex := exampleSection(example, "metrics"); ex != "" {
		t.Errorf("[metrics] section %q, want none", ex)
	}
	const docs = "## `[server]`\n| `listen` |\n## `[[member]]` — who\n| `name` |\n### sub\n| `irr_asn_file` |\n## Rules\n`keep`\n"
	if d := docsSection(docs, "member"); !strings.Contains(d, "`name`") || !strings.Contains(d, "`irr_asn_file`") || strings.Contains(d, "listen") || strings.Contains(d, "keep") {
		t.Errorf("[[member]] section %q", d)
	}
}

// tableKeys maps each top-level table to the keys it takes: its fields and those of the tables
// within it (lookingglass.rate_limit, rpki.caches, member_range.neighbor). The [defaults] keys a
// [[member]] or [[member_range]] may repeat (the embedded PolicyOverrides) belong to [defaults] only.
func tableKeys() map[string][]string {
	tables := map[string][]string{}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := tomlName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		tables[name] = ownKeys(f.Type)
	}
	return tables
}

func ownKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := tomlName(f)
		if f.Anonymous || !f.IsExported() || name == "-" {
			continue
		}
		keys = append(keys, name)
		ft := f.Type
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshalerType) {
			keys = append(keys, ownKeys(ft)...)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// exampleHeader is a table header at the start of a line, possibly commented out: [server],
// # [mrt], [[member]], [lookingglass.rate_limit]. The first group is the top-level table.
var exampleHeader = regexp.MustCompile(`(?m)^#? *\[\[?([a-z_]+)[a-z_.]*\]\]?`)

// exampleSection is the text of every section of the example that belongs to table: from its header
// (or a header of a table within it) to the next header of another table.
func exampleSection(example, table string) string {
	var b strings.Builder
	heads := exampleHeader.FindAllStringSubmatchIndex(example, -1)
	for i, h := range heads {
		if example[h[2]:h[3]] != table {
			continue
		}
		end := len(example)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		b.WriteString(example[h[0]:end])
	}
	return b.String()
}

// docsHeader is a second-level heading of docs/configuration.md; the first group is the table it
// documents, if any (## `[mrt]`, ## `[[member]]` — dynamic members).
var docsHeader = regexp.MustCompile("(?m)^## (?:`\\[\\[?([a-z_]+)\\]\\]?`)?")

// docsSection is the text of the docs from the heading of table to the next second-level heading.
func docsSection(docs, table string) string {
	heads := docsHeader.FindAllStringSubmatchIndex(docs, -1)
	for i, h := range heads {
		if h[2] < 0 || docs[h[2]:h[3]] != table {
			continue
		}
		end := len(docs)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		return docs[h[0]:end]
	}
	return ""
}
