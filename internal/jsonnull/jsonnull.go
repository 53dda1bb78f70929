// Package jsonnull encodes JSON as encoding/json does, except that NaN and ±Inf floats, which
// JSON cannot hold and encoding/json refuses, are written as null. Scores are NaN when they do
// not exist (the correlation of a constant prediction, a ceiling without repeats), and a results
// file must still be written then.
//
//	data, err := jsonnull.MarshalIndent(map[string]any{"fev": math.NaN()}, "", "  ")
//	// {"fev": null}
package jsonnull

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// Marshal is json.Marshal with NaN and ±Inf written as null.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encode(&buf, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalIndent is json.MarshalIndent with NaN and ±Inf written as null.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	data, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, prefix, indent); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

func encode(buf *bytes.Buffer, v reflect.Value) error {
	if !v.IsValid() {
		buf.WriteString("null")
		return nil
	}
	if v.Type().Implements(marshalerType) && !(v.Kind() == reflect.Pointer && v.IsNil()) {
		return plain(buf, v.Interface())
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			buf.WriteString("null")
			return nil
		}
		return plain(buf, v.Interface())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		return encode(buf, v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return plain(buf, v.Interface()) // []byte is base64
		}
		return encodeList(buf, v)
	case reflect.Array:
		return encodeList(buf, v)
	case reflect.Map:
		return encodeMap(buf, v)
	case reflect.Struct:
		return encodeStruct(buf, v)
	}
	return plain(buf, v.Interface())
}

func plain(buf *bytes.Buffer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(data)
	return nil
}

func encodeList(buf *bytes.Buffer, v reflect.Value) error {
	buf.WriteByte('[')
	for i := range v.Len() {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encode(buf, v.Index(i)); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

func encodeMap(buf *bytes.Buffer, v reflect.Value) error {
	if v.IsNil() {
		buf.WriteString("null")
		return nil
	}
	if v.Type().Key().Kind() != reflect.String {
		return plain(buf, v.Interface()) // encoding/json's rules for other keys; no floats there
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		_ = plain(buf, k.String())
		buf.WriteByte(':')
		if err := encode(buf, v.MapIndex(k)); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// encodeStruct follows encoding/json's field rules for what results hold: exported fields,
// `json:"name,omitempty"` and `json:"-"` tags, embedded structs' fields promoted.
func encodeStruct(buf *bytes.Buffer, v reflect.Value) error {
	buf.WriteByte('{')
	first := true
	var fields func(v reflect.Value) error
	fields = func(v reflect.Value) error {
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
				if err := fields(v.Field(i)); err != nil {
					return err
				}
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			fv := v.Field(i)
			if strings.Contains(","+opts+",", ",omitempty,") && isEmpty(fv) {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			_ = plain(buf, name)
			buf.WriteByte(':')
			if err := encode(buf, fv); err != nil {
				return fmt.Errorf("field %s: %w", name, err)
			}
		}
		return nil
	}
	if err := fields(v); err != nil {
		return err
	}
	buf.WriteByte('}')
	return nil
}

// isEmpty is encoding/json's notion of an empty value for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}
