//go:build cgo && dicomcodecs

package dicomio

/*
#cgo pkg-config: libopenjp2 charls
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <openjpeg.h>
#include <charls/charls.h>

typedef struct { const unsigned char *data; size_t size, pos; } memstream;

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *u) {
	memstream *m = u;
	if (m->pos >= m->size) return (OPJ_SIZE_T)-1;
	size_t left = m->size - m->pos;
	if (n > left) n = left;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return n;
}
static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *u) {
	memstream *m = u;
	if (n < 0) { if ((size_t)(-n) > m->pos) n = -(OPJ_OFF_T)m->pos; }
	else if ((size_t)n > m->size - m->pos) n = (OPJ_OFF_T)(m->size - m->pos);
	m->pos += n;
	return n;
}
static OPJ_BOOL ms_seek(OPJ_OFF_T n, void *u) {
	memstream *m = u;
	if (n < 0 || (size_t)n > m->size) return OPJ_FALSE;
	m->pos = (size_t)n;
	return OPJ_TRUE;
}

// j2k_decode decodes a one-component JPEG 2000 codestream (or JP2 file)
// whose size must be w x h; *out is malloc'd w*h int32 samples. Returns 0
// on success, else a step number for the error message.
static int j2k_decode(const unsigned char *data, size_t size, int w, int h,
                      int *prec, int *sgnd, int32_t **out) {
	memstream m = {data, size, 0};
	OPJ_CODEC_FORMAT fmt = OPJ_CODEC_J2K;
	if (size >= 12 && memcmp(data, "\0\0\0\x0cjP  ", 8) == 0) fmt = OPJ_CODEC_JP2;
	opj_codec_t *codec = opj_create_decompress(fmt);
	if (!codec) return 1;
	opj_dparameters_t p;
	opj_set_default_decoder_parameters(&p);
	int rc = 0;
	opj_stream_t *s = NULL;
	opj_image_t *img = NULL;
	if (!opj_setup_decoder(codec, &p)) { rc = 2; goto done; }
	s = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
	if (!s) { rc = 3; goto done; }
	opj_stream_set_user_data(s, &m, NULL);
	opj_stream_set_user_data_length(s, size);
	opj_stream_set_read_function(s, ms_read);
	opj_stream_set_skip_function(s, ms_skip);
	opj_stream_set_seek_function(s, ms_seek);
	if (!opj_read_header(s, codec, &img)) { rc = 4; goto done; }
	if (img->numcomps != 1) { rc = 5; goto done; }
	if ((int)(img->x1 - img->x0) != w || (int)(img->y1 - img->y0) != h) { rc = 6; goto done; }
	if (!opj_decode(codec, s, img) || !opj_end_decompress(codec, s)) { rc = 7; goto done; }
	opj_image_comp_t *c = &img->comps[0];
	if ((int)c->w != w || (int)c->h != h || !c->data) { rc = 8; goto done; }
	*out = malloc(sizeof(int32_t) * (size_t)w * (size_t)h);
	if (!*out) { rc = 9; goto done; }
	memcpy(*out, c->data, sizeof(int32_t) * (size_t)w * (size_t)h);
	*prec = (int)c->prec;
	*sgnd = (int)c->sgnd;
done:
	if (img) opj_image_destroy(img);
	if (s) opj_stream_destroy(s);
	opj_destroy_codec(codec);
	return rc;
}

// jls_decode decodes a one-component JPEG-LS image of w x h; *out is
// malloc'd, 1 or 2 bytes per sample (native byte order). Returns 0 or a
// CharLS error code (negated for size mismatches).
static int jls_decode(const unsigned char *data, size_t size, int w, int h, int *bits, void **out) {
	charls_jpegls_decoder *d = charls_jpegls_decoder_create();
	if (!d) return -1;
	int rc = 0;
	charls_frame_info fi;
	size_t need = 0;
	if ((rc = charls_jpegls_decoder_set_source_buffer(d, data, size)) != 0) goto done;
	if ((rc = charls_jpegls_decoder_read_header(d)) != 0) goto done;
	if ((rc = charls_jpegls_decoder_get_frame_info(d, &fi)) != 0) goto done;
	if (fi.component_count != 1 || (int)fi.width != w || (int)fi.height != h || fi.bits_per_sample > 16) { rc = -2; goto done; }
	if ((rc = charls_jpegls_decoder_get_destination_size(d, 0, &need)) != 0) goto done;
	*out = malloc(need);
	if (!*out) { rc = -3; goto done; }
	if ((rc = charls_jpegls_decoder_decode_to_buffer(d, *out, need, 0)) != 0) { free(*out); *out = NULL; goto done; }
	*bits = fi.bits_per_sample;
done:
	charls_jpegls_decoder_destroy(d);
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// externalCodecs reports that JPEG 2000 and JPEG-LS are decoded here,
// through Debian's libopenjp2 and libcharls.
const externalCodecs = true

func decodeJPEG2000(frame []byte, rows, cols int) ([]uint32, error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("empty frame")
	}
	var prec, sgnd C.int
	var out *C.int32_t
	rc := C.j2k_decode((*C.uchar)(unsafe.Pointer(&frame[0])), C.size_t(len(frame)), C.int(cols), C.int(rows), &prec, &sgnd, &out)
	if rc != 0 {
		return nil, fmt.Errorf("libopenjp2 failed (step %d: %s)", int(rc),
			[]string{"", "codec", "setup", "stream", "header", "not one component", "size differs from the DICOM header", "decode", "component", "memory"}[rc])
	}
	defer C.free(unsafe.Pointer(out))
	src := unsafe.Slice((*int32)(unsafe.Pointer(out)), rows*cols)
	vals := make([]uint32, rows*cols)
	for i, v := range src {
		vals[i] = uint32(v)
	}
	return vals, nil
}

func decodeJPEGLS(frame []byte, rows, cols int) ([]uint32, error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("empty frame")
	}
	var bits C.int
	var out unsafe.Pointer
	rc := C.jls_decode((*C.uchar)(unsafe.Pointer(&frame[0])), C.size_t(len(frame)), C.int(cols), C.int(rows), &bits, &out)
	if rc != 0 {
		return nil, fmt.Errorf("libcharls failed (code %d)", int(rc))
	}
	defer C.free(out)
	n := rows * cols
	vals := make([]uint32, n)
	if bits <= 8 {
		for i, b := range unsafe.Slice((*byte)(out), n) {
			vals[i] = uint32(b)
		}
	} else {
		raw := unsafe.Slice((*byte)(out), 2*n)
		for i := range vals {
			vals[i] = uint32(binary.NativeEndian.Uint16(raw[2*i:]))
		}
	}
	return vals, nil
}
