// Package cursorval reads, compares and writes the values of an incremental
// cursor: the high-water mark of a stream's cursor field. A value is an
// instant or an integer. Instants are read from any RFC 3339 variant
// (offsets with or without a colon, a space for the T, fractions of any
// length), dates, Unix seconds or milliseconds, or a configured Go layout;
// they are compared as instants, saved normalised (RFC 3339 in UTC) so that
// every later run reads them back, and sent upstream in the format the API
// wants. ingest, transform and config share it so that all three read a
// cursor the same way.
package cursorval
