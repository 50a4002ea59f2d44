package dicomio

import (
	"bytes"
	"encoding/binary"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/suyashkumar/dicom"
)

// allocBound is the most a file of n bytes may make this package allocate
// while it is checked, parsed and decoded: 1 MiB of fixed overhead plus
// 4096 bytes per file byte, which covers the largest legitimate expansions
// (deflate at most ~1032-fold, RLE 64 pixels per byte, baseline JPEG 256).
// A length field that lies can never ask for more.
func allocBound(n int) uint64 { return 1<<20 + 4096*uint64(n) }

func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// parseAndDecode is everything Scan and Load do with one file's bytes. The
// walker and the decoders run without recover here, so that a panic in this
// package's own code fails the fuzz test instead of being turned into an
// error; only the library call inside parseInstance is recovered.
func parseAndDecode(data []byte) error {
	in, err := parseInstance("fuzz.dcm", data)
	if err != nil {
		return err
	}
	if !in.raw.hasPixels {
		return nil
	}
	if err := in.checkPixelFormat(); err != nil {
		return err
	}
	return in.decodePixels(make([]float32, in.rows*in.cols))
}

func fixtures(tb testing.TB) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.dcm"))
	if len(paths) == 0 {
		tb.Fatal("no fixtures")
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var err error
		got := allocated(func() { err = parseAndDecode(data) })
		if got > allocBound(len(data)) {
			t.Fatalf("a %d-byte file made the reader allocate %d bytes (err %v)", len(data), got, err)
		}
	})
}

// The known defects of suyashkumar/dicom v1.1.0, shown on this package's
// fixture, and that each is guarded: the library's own behaviour is logged
// (it is what made the guards necessary), the package's is asserted.
func TestLibraryDefectsAreGuarded(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "base_explicit_le.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	pix := bytes.LastIndex(base, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0})
	if pix < 0 {
		t.Fatal("no pixel data header in fixture")
	}
	t.Run("length field claiming 64 MiB", func(t *testing.T) {
		bad := append([]byte(nil), base...)
		binary.LittleEndian.PutUint32(bad[pix+8:], 64<<20)
		// Asked to keep the pixel bytes, the library allocates the claimed
		// length before it reads (with a flipped high byte: 4 GiB).
		lib := allocated(func() {
			_, _ = dicom.Parse(bytes.NewReader(bad), int64(len(bad)), nil, dicom.SkipProcessingPixelDataValue())
		})
		t.Logf("library alone allocated %d bytes for a %d-byte file", lib, len(bad))
		var perr error
		ours := allocated(func() { perr = parseAndDecode(bad) })
		wantErr(t, perr, "claims 67108864 bytes")
		if ours > 64*uint64(len(bad)) {
			t.Fatalf("reader allocated %d bytes for a %d-byte file", ours, len(bad))
		}
	})
	t.Run("truncated file", func(t *testing.T) {
		cut := base[:len(base)-1000]
		_, libErr := dicom.Parse(bytes.NewReader(cut), int64(len(cut)), nil)
		t.Logf("library on a file cut 1000 bytes short: err %v", libErr)
		wantErr(t, parseAndDecode(cut), "truncated")
	})
	t.Run("Rows and Columns forged large", func(t *testing.T) {
		bad := append([]byte(nil), base...)
		for _, tg := range [][]byte{{0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0}, {0x28, 0x00, 0x11, 0x00, 'U', 'S', 2, 0}} {
			at := bytes.Index(bad, tg)
			if at < 0 {
				t.Fatal("no Rows/Columns in fixture")
			}
			binary.LittleEndian.PutUint16(bad[at+8:], 65535)
		}
		var perr error
		ours := allocated(func() { perr = parseAndDecode(bad) })
		wantErr(t, perr, "65535x65535")
		if ours > 64*uint64(len(bad)) {
			t.Fatalf("reader allocated %d bytes for a %d-byte file", ours, len(bad))
		}
	})
	t.Run("every single-byte corruption", func(t *testing.T) {
		// Flip each header byte in turn (the pixel values themselves are
		// uninteresting): nothing panics, nothing allocates beyond the
		// bound, and the library, which logs some malformed structures
		// with the standard logger, never gets to (the walker refuses them
		// first). The standard logger is captured for this test only.
		var logged bytes.Buffer
		defer log.SetOutput(log.Writer())
		log.SetOutput(&logged)
		defer func() {
			if logged.Len() > 0 {
				t.Errorf("the library logged: %s", logged.String())
			}
		}()
		for fi, file := range fixtures(t) {
			flips := []byte{0xFF}
			if fi == 0 {
				flips = []byte{0xFF, 0x01}
			}
			// Headers, and the start of the pixel data (item tags and
			// lengths of encapsulated data).
			end := min(len(file), bytes.LastIndex(file, []byte{0xE0, 0x7F, 0x10, 0x00})+48)
			for i := 0; i < end; i++ {
				for _, x := range flips {
					bad := append([]byte(nil), file...)
					bad[i] ^= x
					var perr error
					got := allocated(func() { perr = parseAndDecode(bad) })
					if got > allocBound(len(bad)) {
						t.Fatalf("byte %d ^ %#x: allocated %d bytes (err %v)", i, x, got, perr)
					}
				}
			}
		}
	})
}
