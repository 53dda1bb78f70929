// Package sortedmap formats a map one entry at a time in the order of its sorted keys, so that
// a table cell or a log line reads the same on every run. It is a low-level leaf.
package sortedmap

import (
	"maps"
	"slices"
	"strings"
)

// Join formats each entry of m with item, in the order of m's sorted keys, and joins them
// with sep ("" for an empty or nil m).
func Join[V any](m map[string]V, sep string, item func(key string, value V) string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = item(k, m[k])
	}
	return strings.Join(parts, sep)
}
