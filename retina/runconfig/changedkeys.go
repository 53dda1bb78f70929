package runconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// ChangedKeys lists the config keys whose values differ between the run there (a) and the
// config here (b), as "key: A there, B here", sorted by key; n_epochs is not compared (a run
// may be extended).
func ChangedKeys(a, b Config) []string {
	ma, mb := configMap(a), configMap(b)
	keys := make([]string, 0, len(ma))
	for k := range ma {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if k == "n_epochs" {
			continue
		}
		if va, vb := compactJSON(ma[k]), compactJSON(mb[k]); va != vb {
			out = append(out, fmt.Sprintf("%s: %s there, %s here", k, va, vb))
		}
	}
	return out
}

func configMap(c Config) map[string]json.RawMessage {
	data, _ := json.Marshal(c)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	return m
}

func compactJSON(v json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return string(v)
	}
	return buf.String()
}
