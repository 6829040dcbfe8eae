// Package audio sits at the start of the speech stage of the message flow, on the audio
// parts of a turn and on live audio streams: it turns customer audio (WAV files, OGG/Opus
// voice notes from Telegram and WhatsApp, headerless PCM chunks) into the 16 kHz mono
// 16-bit PCM that the recognizers in asr/ take, under limits on bytes and duration.
//
//	pcm, info, err := audio.Decode(data, audio.DefaultLimits()) // ErrAudio → 4xx, ErrTooLong → 413
//	pcm, err := audio.DecodeRaw(chunk, 8000, lim)               // headerless 16-bit LE mono
//	r, err := audio.NewResampler(44100); out := r.Write(in); out = append(out, r.Flush()...)
//
// # Formats
//
// Decode sniffs the container from its magic bytes and never guesses raw PCM.
//
//   - WAV (RIFF/WAVE), parsed here rather than with github.com/go-audio/wav: that library
//     (v1.1.0, the latest) reads 32-bit float as integers, has no 64-bit float, ignores the
//     WAVE_FORMAT_EXTENSIBLE sub-format, allocates a buffer of the declared fmt-chunk size
//     on hostile headers and reads one sample per io.Reader call. The parser here takes
//     integer PCM of 8 (unsigned), 16, 24 and 32 bits, IEEE float of 32 and 64 bits,
//     G.711 μ-law and A-law (8 kHz telephony recordings), the same inside
//     WAVE_FORMAT_EXTENSIBLE (including 24 valid bits in 32-bit containers), 1 to 8
//     channels averaged to mono, at 4 kHz to 192 kHz.
//   - OGG/Opus, decoded by libopusfile (Debian package libopusfile0), loaded at run time
//     with dlopen like vision's libjpeg-turbo: the binary builds and runs without it, and
//     Decode then answers ErrUnavailable naming the package. Opus always decodes at
//     48 kHz; op_read_stereo folds any channel layout (and chained links with different
//     layouts) to stereo, which is averaged to mono.
//
// # Limits and bad input
//
// Limits bound the encoded bytes and the duration. The duration is checked from the
// header (WAV: data-chunk size, format and rate; Opus: op_pcm_total) before any sample
// buffer is allocated, and again while decoding Opus, whose header cannot be trusted to
// bound the decoded length. Sample buffers are sized from the bytes actually present,
// never from a declared size.
//
// A WAV file whose data chunk declares more bytes than the file holds, or none (a
// truncated upload, or a streaming writer that left 0 or 0xFFFFFFFF there), is decoded
// to the end of the file, as far as whole frames go, provided the RIFF/WAVE header, a
// valid fmt chunk and the data chunk header are intact; Info.Truncated then says so. An
// OGG/Opus file cut short decodes up to its last complete page (ErrAudio when no audio
// page is complete). Anything else that is malformed, truncated before the samples, or
// not a supported encoding is ErrAudio.
//
// # Resampling
//
// Resampler converts any supported rate to 16 kHz with a polyphase windowed-sinc filter
// (Kaiser window, 70 dB stop band; pass band to 92.5 % of the lower Nyquist frequency,
// stop band from that Nyquist frequency, so nothing aliases). Every common rate (8,
// 11.025, 12, 22.05, 24, 32, 44.1, 48, 88.2, 96 kHz …) gets an exact bank with one row
// per phase of its ratio to 16 kHz, built once and shared; any other rate blends adjacent
// rows of a 64-phase bank of its own, so that an odd rate named by a hostile header costs
// at most a few milliseconds and 0.4 MB to set up. The filter is centred, so output
// sample n is the input at time n/16000 s: decoded audio is not delayed, and a stream of
// N input samples gives ceil(N·16000/rate) output samples once flushed. No library was
// used: no maintained pure-Go resampler is served by the module proxy, and libsoxr
// through dlopen would still need this as the fallback.
package audio
