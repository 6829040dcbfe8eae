package config

func (l LimitsConfig) validate(p *problems) {
	if l.PerIPPerMinute < 0 || l.PerCustomerPerMinute < 0 {
		p.addf("limits: per-minute limits must be ≥ 0, 0 disables (got %d and %d)", l.PerIPPerMinute, l.PerCustomerPerMinute)
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"concurrent_per_ip", l.ConcurrentPerIP}, {"websockets_per_ip", l.WebSocketsPerIP}, {"websockets_per_user", l.WebSocketsPerUser},
		{"websockets_total", l.WebSocketsTotal}, {"login_per_ip_per_minute", l.LoginPerIPPerMinute},
		{"login_per_user_per_minute", l.LoginPerUserPerMinute}, {"login_concurrency", l.LoginConcurrency}} {
		if n.v < 0 {
			p.addf("limits.%s: must be ≥ 0, 0 disables (got %d)", n.key, n.v)
		}
	}
	if l.MediaMemoryBytes != 0 && l.MediaMemoryBytes < 16<<20 {
		p.addf("limits.media_memory_bytes: must be 0 (a quarter of the memory limit) or at least 16777216 (got %d)", l.MediaMemoryBytes)
	}
	p.positive("limits.media_wait", l.MediaWait)
}

func validateStreams(p *problems, s SpeechConfig) {
	if s.ReservedForNotes < 0 || s.ReservedForNotes > s.PoolSize {
		p.addf("speech.reserved_for_notes: must be between 0 and speech.pool_size (%d) (got %d)", s.PoolSize, s.ReservedForNotes)
	}
	if s.StreamsPerIP < 0 {
		p.addf("speech.streams_per_ip: must be ≥ 0, 0 disables (got %d)", s.StreamsPerIP)
	}
}
