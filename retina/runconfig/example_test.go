package runconfig_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/deepretina/deepretina/retina/runconfig"
)

// A hyperparams.json is read over a default: keys it leaves out keep the default's values, and
// a bad value is an error naming its key.
func Example() {
	cfg, err := runconfig.ParseConfig([]byte(`{"exp_name": "ln", "model_type": "LN", "lr": 0.01}`), runconfig.SmallConfig())
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.ExpName, cfg.ModelConfig(4).Type, cfg.LR, cfg.BatchSize)

	_, err = runconfig.ParseConfig([]byte(`{"batch_size": 0}`), runconfig.SmallConfig())
	var ce *runconfig.ConfigError
	fmt.Println(errors.As(err, &ce), ce.Key)
	// Output:
	// ln ln 0.01 64
	// true batch_size
}

// A --ranges grid gives one run per combination, each in its own folder.
func ExampleRanges_Expand() {
	r := runconfig.Ranges{"lr": {json.RawMessage(`0.001`), json.RawMessage(`0.01`)}, "chans": {json.RawMessage(`[4,4]`)}}
	cfgs, err := r.Expand(runconfig.SmallConfig())
	if err != nil {
		panic(err)
	}
	for _, c := range cfgs {
		fmt.Println(c.ExpName, c.Chans, c.LR)
	}
	// Output:
	// bncnn-small_chans=4x4_lr=0.001 [4 4] 0.001
	// bncnn-small_chans=4x4_lr=0.01 [4 4] 0.01
}
