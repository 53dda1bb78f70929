package torchpickle

import (
	"math"
	"math/big"

	"github.com/nlpodyssey/gopickle/types"
)

// Python values of a decoded file, as Go values.

// Dict returns a Python dict or OrderedDict with string keys as a Go map.
func Dict(v any) (map[string]any, bool) {
	out := map[string]any{}
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			if k, ok := e.Key.(string); ok {
				out[k] = e.Value
			}
		}
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if k, ok := entry.Key.(string); ok {
				out[k] = entry.Value
			}
		}
	default:
		return nil, false
	}
	return out, true
}

// Number returns a Python number, numpy scalar or one-element tensor/array as float64.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case *Tensor:
		return x.scalar()
	case *npArray:
		if len(x.values) == 1 {
			return x.values[0], true
		}
	}
	return 0, false
}

// List returns the items of a Python list or tuple (false for anything else).
func List(v any) ([]any, bool) {
	switch x := v.(type) {
	case *types.List:
		return *x, true
	case *types.Tuple:
		return *x, true
	}
	return nil, false
}

// JSON converts a decoded hyper-parameter value to a JSON value, up to depth levels of lists
// and dicts; other objects are not converted.
func JSON(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return x, true
	case bool:
		return x, true
	}
	if f, ok := Number(v); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		return f, true
	}
	if depth <= 0 {
		return nil, false
	}
	items, isList := List(v)
	if !isList {
		if d, ok := Dict(v); ok {
			out := map[string]any{}
			for k, dv := range d {
				if j, ok := JSON(dv, depth-1); ok {
					out[k] = j
				}
			}
			return out, true
		}
		return nil, false
	}
	if len(items) > 1024 {
		return nil, false
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		j, ok := JSON(it, depth-1)
		if !ok {
			return nil, false
		}
		out = append(out, j)
	}
	return out, true
}
