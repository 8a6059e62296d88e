package transform

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// Content hashes (_rawland_hash). A record's hash is 64 bits of a hash of
// its canonical encoding (canon.go): equal hashes mean an unchanged record
// (merge.go, settle.go). Tables rawland creates now hash with xxHash64
// (cespare/xxhash, the Go implementation Prometheus and many others use):
// about 0.03 µs for a 400-byte record against 0.35 µs for SHA-256 with the
// CPU's SHA instructions, which was 5% of a transform's CPU time. Change
// detection needs no cryptographic strength: a record is compared only
// with its own key's earlier versions.
//
// A table created before keeps SHA-256 (the first 8 bytes, big-endian), so
// that its records still compare equal to their earlier versions, until
// `transform --rebuild` creates it anew. rawland.meta records which hash
// each table holds (hashKey): absent means SHA-256.
const hashXXH64 = "xxh64"

// createSHATables makes new tables as rawland did before xxHash (a test
// switch: TestContentHashOfOlderTables).
var createSHATables = false

// hashKey is the rawland.meta key that names the hash of stream's table.
func hashKey(stream string) string { return "content_hash/" + stream }

// sum is the content hash of a canonical encoding.
func (s *Schema) sum(b []byte) uint64 {
	if s.shaHash {
		sum := sha256.Sum256(b)
		return binary.BigEndian.Uint64(sum[:8])
	}
	return xxhash.Sum64(b)
}

// useTableHash sets s to hash as the stream's table does; created: the
// table was created in tx just now, so it takes xxHash64.
func useTableHash(ctx context.Context, tx *sql.Tx, s *Schema, created bool) error {
	if created && createSHATables {
		s.shaHash = true // as rawland did before: no key, SHA-256
		return nil
	}
	if created {
		s.shaHash = false
		return setMeta(ctx, tx, hashKey(s.Stream), hashXXH64)
	}
	v, err := metaValue(ctx, tx, hashKey(s.Stream))
	if err != nil {
		return err
	}
	switch v {
	case "":
		s.shaHash = true
	case hashXXH64:
		s.shaHash = false
	default:
		return fmt.Errorf("the warehouse's table %s holds content hashes of kind %q, which this rawland does not know (a newer rawland wrote it): transform with that version, or rebuild the table with `rawland transform --rebuild %s`", s.Stream, v, s.Stream)
	}
	return nil
}
