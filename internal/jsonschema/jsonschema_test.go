package jsonschema

import (
	"strings"
	"testing"
)

const testSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["kind"],
  "additionalProperties": false,
  "properties": {
    "kind": {"enum": ["a", "b"]},
    "n": {"type": "integer", "minimum": 1},
    "tags": {"type": "array", "items": {"type": "string"}},
    "meta": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
    "body": {"$ref": "#/$defs/body"}
  },
  "oneOf": [
    {"properties": {"kind": {"const": "a"}}, "required": ["n"]},
    {"properties": {"kind": {"const": "b"}}, "required": ["tags"]}
  ],
  "$defs": {
    "body": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}}}
  }
}`

func TestValidate(t *testing.T) {
	s, err := Parse([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc     string
		wantErr string // "" for valid
	}{
		{`{"kind":"a","n":2}`, ""},
		{`{"kind":"b","tags":["x"],"meta":{"k":"v","z":null},"body":{"x":1.5}}`, ""},
		{`{"n":2}`, `required property "kind" is missing`},
		{`{"kind":"c","n":2}`, `/kind: got "c", want one of ["a","b"]`},
		{`{"kind":"a","n":0}`, `/n: 0 is less than the minimum 1`},
		{`{"kind":"a","n":1.5}`, `/n: got number 1.5, want integer`},
		{`{"kind":"a","n":1,"extra":true}`, `property "extra" is not allowed`},
		{`{"kind":"b","tags":[1]}`, `/tags/0: got integer 1, want string`},
		{`{"kind":"b","tags":[],"meta":{"k":1}}`, `/meta/k: got integer 1, want string or null`},
		{`{"kind":"a","n":1,"body":{}}`, `/body: required property "x" is missing`},
		{`{"kind":"a","tags":[]}`, `matches none of the alternatives`},
		{`[1]`, `got array`},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			err := s.ValidateJSON([]byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseRefusesWhatItCannotCheck(t *testing.T) {
	for _, doc := range []string{
		`{"type":"string","pattern":"^a"}`,
		`{"properties":{"a":{"anyOf":[]}}}`,
		`{"$ref":"#/$defs/missing"}`,
		`{"$ref":"other.json#/x"}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%s) accepted a schema it cannot check", doc)
		}
	}
}
