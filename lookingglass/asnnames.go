package lookingglass

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
)

// Limits of an ASN names file ([lookingglass] asn_names_file): enough for every allocated AS
// number with its name, small enough that a wrong file (a log, a binary) cannot fill memory.
const (
	maxASNNames     = 1 << 20
	maxASNNameLen   = 100
	maxASNNamesLine = 4096
	maxASNNamesFile = 64 << 20 // bytes read at most
)

// ReadASNNames reads "ASN name" lines ("64501 Example Networks" or "AS64501 Example Networks"):
// blank lines and lines starting with # are skipped, the name is the rest of the line with runs of
// blanks squeezed and control characters dropped, cut to 100 characters. A line that does not start
// with an AS number is an error naming the line; a later line for the same ASN wins.
func ReadASNNames(r io.Reader) (map[uint32]string, error) {
	names := make(map[uint32]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxASNNamesLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		num, name := text, ""
		if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
			num, name = text[:i], text[i:]
		}
		asn, err := ParseASN(num)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not an AS number", line, cut(num, 32))
		}
		name = cleanName(name)
		if name == "" {
			continue
		}
		if len(names) >= maxASNNames {
			return nil, fmt.Errorf("line %d: more than %d names", line, maxASNNames)
		}
		names[asn] = name
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return names, nil
}

// cleanName squeezes blanks, drops control and invalid characters and cuts to maxASNNameLen runes.
func cleanName(s string) string {
	var b strings.Builder
	space, n := false, 0
	for _, r := range strings.ToValidUTF8(s, "") {
		if n >= maxASNNameLen {
			break
		}
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case !unicode.IsPrint(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// loadASNNames reads the configured names file; "" is no names. The route server validated that the
// file exists; if it cannot be read now, the pages show numbers only and the caller logs why.
func loadASNNames(path string) (map[uint32]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := ReadASNNames(io.LimitReader(f, maxASNNamesFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return names, nil
}
