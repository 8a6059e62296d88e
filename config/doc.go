// Package config owns rawland.yaml: its types, strict decoding (unknown keys
// and wrong types are errors that name the file, line and key), defaults and
// validation. A Config returned by Load or Parse is complete: every default
// is filled in and every reference (source names, schema files) checked.
// Secrets are never part of the file; Source.Credentials reads them from the
// environment variables the file names.
package config
