package rpki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ErrVRPFile is wrapped by every error about a VRP file's contents.
var ErrVRPFile = errors.New("bad VRP file")

// maxVRPs bounds a file: the global RPKI has about 700,000 VRPs (2026).
const maxVRPs = 10_000_000

// ParseJSON decodes the VRP JSON of rpki-client and StayRTR (docs/configuration.md, `[rpki]`):
//
//	{"metadata": {...}, "roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 65001}, ...]}
//
// asn may be a number or "AS65001"; other keys (metadata, ta, expires, ASPA data) are ignored.
// Every entry must be well formed: a file with one bad entry is refused as a whole, naming the entry,
// so a truncated or corrupted file never replaces good data.
func ParseJSON(data []byte) ([]VRP, error) {
	if vrps, ok := fastParseJSON(data, splitAt); ok {
		return vrps, nil
	}
	return parseJSONReflect(data)
}

// parseJSONReflect is ParseJSON with encoding/json: the reference for what is accepted, and the
// errors (vrpjson.go).
func parseJSONReflect(data []byte) ([]VRP, error) {
	var doc struct {
		ROAs *[]struct {
			Prefix    *string         `json:"prefix"`
			MaxLength *int            `json:"maxLength"`
			ASN       json.RawMessage `json:"asn"`
		} `json:"roas"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVRPFile, err)
	}
	if doc.ROAs == nil {
		return nil, fmt.Errorf(`%w: no "roas" array`, ErrVRPFile)
	}
	if len(*doc.ROAs) > maxVRPs {
		return nil, fmt.Errorf("%w: more than %d VRPs", ErrVRPFile, maxVRPs)
	}
	out := make([]VRP, 0, len(*doc.ROAs))
	for i, r := range *doc.ROAs {
		if r.Prefix == nil || r.MaxLength == nil || r.ASN == nil {
			return nil, fmt.Errorf("%w: roas[%d]: prefix, maxLength and asn are required", ErrVRPFile, i)
		}
		p, err := netip.ParsePrefix(*r.Prefix)
		if err != nil || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("%w: roas[%d]: bad prefix %q", ErrVRPFile, i, *r.Prefix)
		}
		p = p.Masked()
		if *r.MaxLength < p.Bits() || *r.MaxLength > p.Addr().BitLen() {
			return nil, fmt.Errorf("%w: roas[%d]: maxLength %d does not fit %s", ErrVRPFile, i, *r.MaxLength, p)
		}
		asn, err := parseASN(r.ASN)
		if err != nil {
			return nil, fmt.Errorf("%w: roas[%d]: %v", ErrVRPFile, i, err)
		}
		out = append(out, VRP{Prefix: p, MaxLength: uint8(*r.MaxLength), ASN: asn}) // checked above
	}
	return out, nil
}

func parseASN(raw json.RawMessage) (uint32, error) {
	s := strings.TrimSpace(string(raw))
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("bad asn %s", raw)
		}
		if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
			s = s[2:]
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad asn %s", raw)
	}
	return uint32(v), nil
}

// ParseTable is NewTable of what ParseJSON reads, without copying the VRPs: the table keeps the
// parsed list as its array (20 MB of garbage fewer for 400,000 VRPs, at a reload that the route
// server's collector then had to mark its whole RIB for).
func ParseTable(data []byte) (*Table, error) {
	vrps, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	return newTable(vrps), nil
}

// LoadFile reads and parses a VRP file into a snapshot.
func LoadFile(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vrp file: %w", err)
	}
	t, err := ParseTable(data)
	if err != nil {
		return nil, fmt.Errorf("vrp file %s: %w", path, err)
	}
	return t, nil
}
