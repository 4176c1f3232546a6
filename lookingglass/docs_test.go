package lookingglass

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// TestDocsReasons checks that the copy-paste Alice-LG configuration in docs/lookingglass.md names
// every reason code as the looking glass does.
func TestDocsReasons(t *testing.T) {
	doc, err := os.ReadFile("../docs/lookingglass.md")
	if err != nil {
		t.Fatal(err)
	}
	for code := 1; code <= int(policy.OTCLeak); code++ {
		line := fmt.Sprintf("64500:1101:%d = %s\n", code, policy.Reason(code))
		if !strings.Contains(string(doc), line) {
			t.Errorf("docs/lookingglass.md lacks %q", line)
		}
	}
	for code := 1; code < numNotExportedReasonCodes; code++ {
		line := fmt.Sprintf("64500:1102:%d = %s\n", code, NotExportedReason(code))
		if !strings.Contains(string(doc), line) {
			t.Errorf("docs/lookingglass.md lacks %q", line)
		}
	}
}
