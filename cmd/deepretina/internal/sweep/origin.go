package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/deepretina/deepretina/retina/runconfig"
)

// configOrigin says where a configuration's values came from, so that an error about a key
// the user never wrote can say that the value is a default, and which one.
type configOrigin struct {
	file     string          // the --config file ("" when none)
	keys     map[string]bool // keys the --config file sets
	ranges   map[string]bool // keys the --ranges file sets
	dataFlag bool            // --data sets datapath
}

// Explain adds the origin of the value to an error about a key that a --config file omitted.
func (o configOrigin) Explain(err error) error {
	var ce *runconfig.ConfigError
	if o.file == "" || !errors.As(err, &ce) || o.keys[ce.Key] || o.ranges[ce.Key] || (ce.Key == "datapath" && o.dataFlag) {
		return err
	}
	def, _ := json.Marshal(runconfig.DefaultConfig())
	var m map[string]json.RawMessage
	_ = json.Unmarshal(def, &m)
	return fmt.Errorf("%w (%s is not set in %s, so it has the default %s: a --config file starts from the published setting, runconfig.DefaultConfig; set %s in the file)",
		err, ce.Key, o.file, m[ce.Key], ce.Key)
}

// jsonKeys lists the keys of the JSON object in path (none if path is "" or unreadable).
func jsonKeys(path string) map[string]bool {
	keys := map[string]bool{}
	if path == "" {
		return keys
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return keys
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) == nil {
		for k := range m {
			keys[k] = true
		}
	}
	return keys
}
