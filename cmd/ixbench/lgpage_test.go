package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// lgTestRoute is a route as ixrs's /api/v1 writes it.
const lgTestRoute = `{"prefix":"198.51.100.0/24","member":"Beta \"Transit\"","asn":64502,"neighbor":"192.0.2.12",` +
	`"session_id":"R_192_0_2_12","as_path":[64502,64501,3356],"as_set":false,"next_hop":"192.0.2.12","med":null,` +
	`"origin":"igp","local_pref":100,"communities":[[64502,100]],"ext_communities":[],` +
	`"large_communities":[[64500,1000,1],[64500,1101,3]],"otc":null,"rpki":"not-found","irr_prefix":"not-checked",` +
	`"irr_origin":"not-checked","since":"2026-11-01T09:00:00Z","age_seconds":10800,"best":false,"accepted":true,` +
	`"reasons":[],"not_exported":null,"x":[1.5e-3,-0,{"a\u00e9\n":{}}]}`

// lgTestPage is a page of n such routes.
func lgTestPage(n int, next string, partial bool) []byte {
	rs := strings.Repeat(lgTestRoute+",", n)
	rs = strings.TrimSuffix(rs, ",")
	nx, _ := json.Marshal(next)
	p := "false"
	if partial {
		p = "true"
	}
	return []byte(`{"routes":[` + rs + `],"next_cursor":` + string(nx) + `,"generation":5,"total":1000,"partial":` + p + `,"limit":100}` + "\n")
}

// refPageSummary is what pageSummary must answer, by encoding/json: the object decoded into a map
// (exact keys, the last duplicate wins), then the three members into their types.
func refPageSummary(b []byte) (lgPageSummary, error) {
	var s lgPageSummary
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return s, err
	}
	if m == nil {
		return s, errors.New("null is no page")
	}
	var routes []json.RawMessage
	if raw, ok := m["routes"]; ok {
		if err := json.Unmarshal(raw, &routes); err != nil {
			return s, err
		}
	}
	s.routes = len(routes)
	if raw, ok := m["next_cursor"]; ok {
		if err := json.Unmarshal(raw, &s.next); err != nil {
			return s, err
		}
	}
	if raw, ok := m["partial"]; ok {
		if err := json.Unmarshal(raw, &s.partial); err != nil {
			return s, err
		}
	}
	return s, nil
}

func TestPageSummary(t *testing.T) {
	for _, c := range []struct {
		in   string
		want lgPageSummary
	}{
		{string(lgTestPage(100, "g7.2/\u00e9", true)), lgPageSummary{routes: 100, next: "g7.2/\u00e9", partial: true}},
		{string(lgTestPage(0, "", false)), lgPageSummary{}},
		{` { "routes" : [ 1 , "a" , null ] , "partial" : null } `, lgPageSummary{routes: 3}},
		{`{"routes":null,"next_cursor":null}`, lgPageSummary{}},
		{`{"next_cursor":"a\u0062\/","routes":[{}],"routes":[{},{}]}`, lgPageSummary{routes: 2, next: "ab/"}},
		{`{"rout\u0065s":[0]}`, lgPageSummary{routes: 1}},
		{`{"Routes":[0]}`, lgPageSummary{}}, // exact keys: not "routes"
		{`{}`, lgPageSummary{}},
	} {
		got, err := pageSummary([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("%.60s: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		``, `null`, `[]`, `{`, `{"routes":[1,]}`, `{"routes":[01]}`, `{"routes":[1.]}`, `{"routes":[-]}`,
		`{"routes":[1e]}`, `{"routes":"a"}`, `{"routes":{}}`, `{"partial":1}`, `{"next_cursor":5}`,
		`{"a":tru}`, `{"a":"\x"}`, "{\"a\":\"\t\"}", `{"a":"\u12"}`, `{"a" 1}`, `{"a":1}}`, `{"a":1} x`,
		`{"a":[1 2]}`, `{"a":{"b":1,}}`, `{'a':1}`, `{"routes":[1]`,
	} {
		if got, err := pageSummary([]byte(in)); err == nil {
			t.Errorf("%q: %+v, want an error", in, got)
		}
		if _, err := refPageSummary([]byte(in)); err == nil {
			t.Errorf("%q: encoding/json accepts it; the case is wrong", in)
		}
	}
}

// FuzzPageSummary holds pageSummary to encoding/json: the same answers for the same input, and an
// error where it errs.
func FuzzPageSummary(f *testing.F) {
	f.Add(lgTestPage(1, "c", true))
	for _, s := range []string{`{"routes":[1,"a",null],"partial":null}`, `{"rout\u0065s":[0],"routes":null}`,
		`{"next_cursor":"\ud83d\ude00"}`, `{"a":[[[{"b":-1.5E+3}]]]}`, `{"routes":[1,]}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := pageSummary(b)
		want, werr := refPageSummary(b)
		if errors.Is(err, errDepth) {
			return // encoding/json's own depth limit counts differently
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: pageSummary %+v, %v; encoding/json %+v, %v", b, got, err, want, werr)
		}
		if err == nil && got != want {
			t.Fatalf("%q: pageSummary %+v; encoding/json %+v", b, got, want)
		}
	})
}

// BenchmarkPageSummary reads a page of 100 routes; BenchmarkPageUnmarshal as the clients did
// before pageSummary.
func BenchmarkPageSummary(b *testing.B) {
	p := lgTestPage(100, "g7.2", false)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if s, err := pageSummary(p); err != nil || s.routes != 100 {
			b.Fatal(s, err)
		}
	}
}

func BenchmarkPageUnmarshal(b *testing.B) {
	p := lgTestPage(100, "g7.2", false)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		var page struct {
			Routes  []json.RawMessage `json:"routes"`
			Next    string            `json:"next_cursor"`
			Partial bool              `json:"partial"`
		}
		if err := json.Unmarshal(p, &page); err != nil || len(page.Routes) != 100 {
			b.Fatal(err)
		}
	}
}
