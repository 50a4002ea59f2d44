package segedit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"metascope/internal/atomicfile"
)

// The journal is an append-only file of committed edits next to a reader's
// label: a header naming the label state it starts from, then one record per
// stroke, undo or redo, each fsynced before the edit counts as done.
//
//	header: "MSJRNL01" | dims 3 x uint32 | base fingerprint uint64 | crc32c
//	record: body length uint32 | body | crc32c(body)
//	body:   kind uint8 | seq uvarint | fingerprint after uint64 | delta
//
// A crash mid-append leaves a torn last record; its checksum fails and it is
// dropped, while every earlier record still applies.

const journalMagic = "MSJRNL01"

const journalHeaderLen = 8 + 12 + 8 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type recordKind uint8

const (
	recCommit recordKind = 1 // a new step (stroke, fill, ...) applied forward
	recUndo   recordKind = 2 // step Seq undone
	recRedo   recordKind = 3 // step Seq redone
)

func (k recordKind) String() string {
	switch k {
	case recCommit:
		return "commit"
	case recUndo:
		return "undo"
	case recRedo:
		return "redo"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// record is one journal entry. Delta is always the step as committed
// (forward); an undo record applies it backwards. Records carry their delta
// so that each one can be replayed without the history that produced it.
type record struct {
	Kind  recordKind
	Seq   uint64
	FP    uint64 // label fingerprint after the record is applied
	Delta Delta
}

type journalHeader struct {
	Dims [3]int
	Base uint64 // fingerprint of the label the first record applies to
}

func (h journalHeader) encode() []byte {
	b := make([]byte, 0, journalHeaderLen)
	b = append(b, journalMagic...)
	for _, d := range h.Dims {
		b = binary.LittleEndian.AppendUint32(b, uint32(d))
	}
	b = binary.LittleEndian.AppendUint64(b, h.Base)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeJournalHeader(b []byte) (journalHeader, error) {
	if len(b) < journalHeaderLen {
		return journalHeader{}, fmt.Errorf("header is %d bytes, want %d", len(b), journalHeaderLen)
	}
	if string(b[:8]) != journalMagic {
		return journalHeader{}, fmt.Errorf("not a Metascope journal (magic %q)", b[:8])
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.LittleEndian.Uint32(b[28:32]) {
		return journalHeader{}, fmt.Errorf("header checksum mismatch")
	}
	var h journalHeader
	for a := range 3 {
		h.Dims[a] = int(binary.LittleEndian.Uint32(b[8+4*a:]))
	}
	h.Base = binary.LittleEndian.Uint64(b[20:28])
	return h, nil
}

func (r record) encode() []byte {
	body := []byte{byte(r.Kind)}
	body = binary.AppendUvarint(body, r.Seq)
	body = binary.LittleEndian.AppendUint64(body, r.FP)
	body = r.Delta.appendBinary(body)
	out := make([]byte, 0, len(body)+8)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, castagnoli))
}

func decodeRecordBody(body []byte, nVoxels int) (record, error) {
	if len(body) < 1 {
		return record{}, errShort
	}
	r := record{Kind: recordKind(body[0])}
	if r.Kind < recCommit || r.Kind > recRedo {
		return record{}, fmt.Errorf("unknown record kind %d", body[0])
	}
	seq, k := binary.Uvarint(body[1:])
	if k <= 0 || len(body) < 1+k+8 {
		return record{}, errShort
	}
	r.Seq = seq
	r.FP = binary.LittleEndian.Uint64(body[1+k:])
	d, rest, err := decodeDelta(body[1+k+8:], nVoxels)
	if err != nil {
		return record{}, err
	}
	if len(rest) != 0 {
		return record{}, fmt.Errorf("%d stray bytes after the delta", len(rest))
	}
	r.Delta = d
	return r, nil
}

// journalContents is what readJournal found: the header, the valid records,
// the byte offset where they end, and a warning when a tail was dropped.
type journalContents struct {
	Header  journalHeader
	Records []record
	End     int64
	Warning string
}

// readJournal parses a journal file. A bad header is an error; a bad or torn
// record ends the valid part with a warning, keeping what came before it.
func readJournal(path string) (journalContents, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return journalContents{}, err
	}
	h, err := decodeJournalHeader(data)
	if err != nil {
		return journalContents{}, fmt.Errorf("journal %s: %w", path, err)
	}
	n := h.Dims[0] * h.Dims[1] * h.Dims[2]
	c := journalContents{Header: h, End: journalHeaderLen}
	b := data[journalHeaderLen:]
	for len(b) > 0 {
		bad := func(why string) {
			c.Warning = fmt.Sprintf("journal %s: record %d at byte %d %s; it and the %d bytes after it were dropped",
				path, len(c.Records)+1, c.End, why, len(b))
		}
		if len(b) < 8 {
			bad("is torn (partial write)")
			break
		}
		ln := binary.LittleEndian.Uint32(b)
		if uint64(ln)+8 > uint64(len(b)) {
			bad("is torn (partial write)")
			break
		}
		body := b[4 : 4+ln]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4+ln:]) {
			bad("fails its checksum (torn or corrupt)")
			break
		}
		r, err := decodeRecordBody(body, n)
		if err != nil {
			bad("is malformed (" + err.Error() + ")")
			break
		}
		c.Records = append(c.Records, r)
		c.End += int64(ln) + 8
		b = b[ln+8:]
	}
	return c, nil
}

// journal is an open journal file, appended to and fsynced per record.
type journal struct {
	path string
	f    *os.File
	size int64
}

// createJournal atomically replaces path with an empty journal starting
// from base, then opens it for appending.
func createJournal(path string, h journalHeader) (*journal, error) {
	if err := atomicfile.WriteBytes(path, h.encode()); err != nil {
		return nil, err
	}
	return openJournalAppend(path, journalHeaderLen)
}

// openJournalAppend opens an existing journal, cutting it to end (dropping a
// torn tail so that new records follow the last valid one).
func openJournalAppend(path string, end int64) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: cut torn tail: %w", path, err)
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &journal{path: path, f: f, size: end}, nil
}

// append writes one record and fsyncs: when it returns nil the edit survives
// a crash or power cut.
func (j *journal) append(r record) error {
	if j == nil || j.f == nil {
		return errors.New("journal is closed")
	}
	b := r.encode()
	n, err := j.f.Write(b)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		// Cut a partial record so later appends stay readable.
		j.f.Truncate(j.size)
		j.f.Seek(j.size, io.SeekStart)
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.size += int64(n)
	return nil
}

func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// records reports whether anything follows the header.
func (j *journal) hasRecords() bool { return j != nil && j.size > journalHeaderLen }
