package asr

import "github.com/prometheus/client_golang/prometheus"

var (
	descInUse   = prometheus.NewDesc("switchboard_speech_recognizers_in_use", "Recognizers lent out, per language.", []string{"language"}, nil)
	descSize    = prometheus.NewDesc("switchboard_speech_recognizers", "Pool size (most recognizers at once), per language.", []string{"language"}, nil)
	descWaiting = prometheus.NewDesc("switchboard_speech_waiting", "Callers waiting for a recognizer, per language.", []string{"language"}, nil)
)

// Describe implements prometheus.Collector: the pools' occupancy and the transcription
// histograms.
func (s *Service) Describe(ch chan<- *prometheus.Desc) {
	ch <- descInUse
	ch <- descSize
	ch <- descWaiting
	s.audioSec.Describe(ch)
	s.rtf.Describe(ch)
}

// Collect implements prometheus.Collector.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	for lang, st := range s.Stats() {
		ch <- prometheus.MustNewConstMetric(descInUse, prometheus.GaugeValue, float64(st.InUse), lang)
		ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(st.Size), lang)
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(st.Waiting), lang)
	}
	s.audioSec.Collect(ch)
	s.rtf.Collect(ch)
}

func newHistograms() (audioSec, rtf *prometheus.HistogramVec) {
	audioSec = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_speech_audio_seconds",
		Help: "Duration of transcribed recordings.", Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600}}, []string{"language"})
	rtf = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_speech_rtf",
		Help:    "Real-time factor of transcriptions (decoding time / audio time), waiting for a recognizer included.",
		Buckets: []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5}}, []string{"language"})
	return audioSec, rtf
}
