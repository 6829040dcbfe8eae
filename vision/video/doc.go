// Package video reads customers' video notes for the message flow, beside the photo and
// voice-note stages: a few frames sampled over the video, for the vision stage to label,
// and its sound as 16 kHz mono PCM, for the speech stage to transcribe; both feed one
// turn. It is a leaf: it knows nothing of channels, tickets or HTTP.
//
// # Decoding
//
// Nothing here demuxes or decodes by hand: Debian's ffprobe and ffmpeg programs do, run
// with os/exec (Available says whether they are installed; SWITCHBOARD_FFMPEG and
// SWITCHBOARD_FFPROBE name other binaries). Read are MP4/MOV (H.264, HEVC, MPEG-4 Part 2,
// AV1) and WebM/Matroska (VP8, VP9, AV1) with AAC, Opus, Vorbis, MP3 or 16-bit PCM sound,
// which covers what Telegram, WhatsApp and browsers (MediaRecorder, whose WebM has no
// duration in its header) send.
//
// # Defences
//
// A video is untrusted input handed to a large C program, so each step narrows what that
// program may do:
//
//   - The byte count is checked before anything runs (Limits.MaxBytes).
//   - The bytes are written to a 0600 file in a private 0700 temporary folder, removed
//     when Decode returns; a file, not a pipe, because an MP4 whose index (moov) is at its
//     end must be seeked.
//   - Every program is run with -protocol_whitelist file (no network, no pipes, no other
//     files), -format_whitelist naming only the MP4 and Matroska demuxers (no playlist,
//     concat list, image sequence or lavfi graph can be opened, whatever the bytes claim),
//     -codec_whitelist naming only the decoders above (a stream in any other codec makes
//     the file unreadable rather than reaching an obscure decoder), -max_alloc, one thread,
//     no stdin, an environment of LC_ALL=C alone (no FFREPORT), in its own process group.
//   - ffprobe reports the container, streams and every packet's time (demuxing only). The
//     container and codecs are checked against the allow-lists; duration (from the header
//     and from the packets, so a header that lies or is missing does not matter) against
//     Limits.MaxDuration; the video's size against Limits.MaxVideoPixels. A file whose
//     packets stop well before its header's duration is truncated.
//   - One deadline (Limits.Timeout) covers all the programs run for one video; when it
//     passes, or ctx is cancelled, the process group is killed.
//   - What is read from each program's stdout is capped: ffprobe's report by the number
//     of packets MaxDuration allows, frames at MaxFrames × (MaxPixels × 4 + 64 KiB), sound
//     at MaxDuration × 16000 × 2 bytes (ffmpeg is also told to stop there).
//
// # Frames
//
// MaxFrames frames are taken over the video, one from each of MaxFrames equal slots: the
// keyframe nearest the slot's middle when the slot holds one (cheap to decode, and never
// a half-built picture), else the first frame at the middle. When every slot has a
// keyframe the decoder skips all other frames (-skip_frame nokey). All frames come from
// one ffmpeg run (a select filter), which stops after the last one; rotation metadata is
// applied, and each frame is scaled down, keeping its aspect, to at most MaxPixels pixels
// and read back as PNG with image/png. Result.FrameTimes says when each was shown.
//
// # Errors
//
// ErrVideo: not a video this package reads (bad, truncated, an image, sound alone, another
// container or codec, ffmpeg failing — with the end of its message, without file paths).
// ErrTooLarge: bytes, duration, dimensions or output over the limits, or not read within
// Limits.Timeout. ErrUnavailable: no ffmpeg. The gateway maps the first two to 4xx. A
// cancelled ctx gives ctx's error.
package video
