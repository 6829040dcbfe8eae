package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Routing policies.
const (
	PolicyLatest = "latest" // serve the newest version that validates; new versions are picked up
	PolicyPinned = "pinned" // serve State.Active until told otherwise
)

// StateFile is the routing state of a model, in its folder.
const StateFile = "state.json"

// State is a model's routing as an ML engineer set it; it survives restarts and is shared
// by every replica reading the repository.
type State struct {
	Policy        string    `json:"policy"`
	Active        string    `json:"active,omitempty"`
	Canary        string    `json:"canary,omitempty"`
	CanaryPercent int       `json:"canary_percent,omitempty"`
	Shadow        string    `json:"shadow,omitempty"`
	History       []string  `json:"history,omitempty"` // earlier active versions, oldest first
	UpdatedAt     time.Time `json:"updated_at"`
}

// VersionStatus is one version folder as the registry sees it.
type VersionStatus struct {
	Version string      `json:"version"`
	Roles   []string    `json:"roles,omitempty"` // active, canary, shadow
	Error   string      `json:"error,omitempty"` // why it was refused, when it was
	Eval    *EvalResult `json:"eval,omitempty"`
}

// ModelStatus is what `models list` shows.
type ModelStatus struct {
	Name     string          `json:"name"`
	Task     string          `json:"task,omitempty"`
	State    State           `json:"state"`
	Versions []VersionStatus `json:"versions"`
	Shadow   *ShadowStats    `json:"shadow,omitempty"`
}

// ShadowStats compare the shadow version with the answering one on live traffic.
type ShadowStats struct {
	Version   string  `json:"version"`
	Compared  int64   `json:"compared"`
	Agreement float64 `json:"agreement"` // share of requests with the same top-1 class
}

// List describes every model and version in the repository.
func (r *Registry) List() []ModelStatus {
	r.opMu.Lock()
	defer r.opMu.Unlock()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range *r.models.Load() {
			if !yield(n) {
				return
			}
		}
	})
	var out []ModelStatus
	for _, name := range names {
		m := (*r.models.Load())[name]
		rt := m.route.Load()
		st := ModelStatus{Name: name, State: m.state}
		if rt.active != nil {
			st.Task = rt.active.m.Task
		}
		if rt.shadow != nil {
			st.Shadow = &ShadowStats{Version: rt.shadow.m.Version, Compared: m.shadowRuns.Load()}
			if st.Shadow.Compared > 0 {
				st.Shadow.Agreement = float64(m.shadowAgree.Load()) / float64(st.Shadow.Compared)
			}
		}
		for _, ver := range r.versionsOnDisk(name) {
			vs := VersionStatus{Version: ver}
			for role, v := range map[string]*version{"active": rt.active, "canary": rt.canary, "shadow": rt.shadow} {
				if v != nil && v.m.Version == ver {
					vs.Roles = append(vs.Roles, role)
					vs.Eval = v.eval
				}
			}
			slices.Sort(vs.Roles)
			if why, ok := r.bad[r.badKey(name, ver)]; ok {
				vs.Error = why
			}
			st.Versions = append(st.Versions, vs)
		}
		out = append(out, st)
	}
	return out
}

// Activate pins the model to ver (loading and validating it first); the previous active
// version is remembered for Rollback.
func (r *Registry) Activate(ctx context.Context, name, ver string) error {
	return r.change(ctx, name, func(st *State) error {
		if st.Active != ver && st.Active != "" {
			st.History = appendHistory(st.History, st.Active)
		}
		st.Policy, st.Active = PolicyPinned, ver
		if st.Canary == ver {
			st.Canary, st.CanaryPercent = "", 0
		}
		if st.Shadow == ver {
			st.Shadow = ""
		}
		return nil
	})
}

// Canary sends percent (1–100) of the model's requests to ver; percent 0 ends the canary.
func (r *Registry) Canary(ctx context.Context, name, ver string, percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("%w: canary percent %d: want 0 to 100", ErrBadInput, percent)
	}
	return r.change(ctx, name, func(st *State) error {
		if percent == 0 {
			st.Canary, st.CanaryPercent = "", 0
			return nil
		}
		if ver == st.Active {
			return fmt.Errorf("%w: %s/%s is already active", ErrBadInput, name, ver)
		}
		st.Canary, st.CanaryPercent = ver, percent
		return nil
	})
}

// Shadow runs ver on live traffic beside the answering version without answering;
// ver "" ends it.
func (r *Registry) Shadow(ctx context.Context, name, ver string) error {
	return r.change(ctx, name, func(st *State) error {
		if ver != "" && ver == st.Active {
			return fmt.Errorf("%w: %s/%s is already active", ErrBadInput, name, ver)
		}
		st.Shadow = ver
		return nil
	})
}

// Rollback activates the version that was active before the current one (or, with no
// history, the newest version below it), pins it, and ends any canary or shadow.
func (r *Registry) Rollback(ctx context.Context, name string) error {
	return r.change(ctx, name, func(st *State) error {
		cur := st.Active
		if cur == "" {
			return fmt.Errorf("%w: model %q serves nothing to roll back from", ErrUnavailable, name)
		}
		var prev string
		if n := len(st.History); n > 0 {
			prev, st.History = st.History[n-1], st.History[:n-1]
		} else {
			c, _ := strconv.Atoi(cur)
			for _, v := range r.versionsOnDisk(name) {
				if n, _ := strconv.Atoi(v); n < c {
					prev = v
				}
			}
		}
		if prev == "" {
			return fmt.Errorf("%w: model %q has no earlier version than %s", ErrNotFound, name, cur)
		}
		st.Policy, st.Active, st.Canary, st.CanaryPercent, st.Shadow = PolicyPinned, prev, "", 0, ""
		return nil
	})
}

// Latest switches the model to the latest policy: the newest valid version serves.
func (r *Registry) Latest(ctx context.Context, name string) error {
	return r.change(ctx, name, func(st *State) error {
		st.Policy = PolicyLatest
		return nil
	})
}

// change applies edit to the model's state, brings the routing in line and saves it. On
// any error the previous routing keeps serving and nothing is saved.
func (r *Registry) change(ctx context.Context, name string, edit func(*State) error) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: model %q", ErrNotFound, name)
	}
	r.opMu.Lock()
	defer r.opMu.Unlock()
	if len(r.versionsOnDisk(name)) == 0 {
		return fmt.Errorf("%w: model %q", ErrNotFound, name)
	}
	m := r.modelFor(name)
	st := m.state
	st.History = slices.Clone(st.History)
	if err := edit(&st); err != nil {
		return err
	}
	for _, v := range []string{st.Active, st.Canary, st.Shadow} {
		if v != "" && !slices.Contains(r.versionsOnDisk(name), v) {
			return fmt.Errorf("%w: %s/%s", ErrNotFound, name, v)
		}
	}
	if err := r.apply(ctx, m, &st, true); err != nil {
		return err
	}
	return r.save(m, st)
}

func appendHistory(h []string, v string) []string {
	h = append(h, v)
	if len(h) > 20 {
		h = h[len(h)-20:]
	}
	return h
}

// apply loads what st names and publishes it, counting the swap's result. Under the
// latest policy st.Active becomes the newest version that validates. explicit retries
// versions refused before.
func (r *Registry) apply(ctx context.Context, m *model, st *State, explicit bool) error {
	err := r.swap(ctx, m, st, explicit)
	result := "ok"
	if err != nil {
		result = "failed"
	}
	r.metrics.swaps.WithLabelValues(m.name, result).Inc()
	return err
}

func (r *Registry) swap(ctx context.Context, m *model, st *State, explicit bool) error {
	var next routing
	if st.Policy != PolicyPinned {
		st.Policy = PolicyLatest
		vers := r.versionsOnDisk(m.name)
		var lastErr error
		for i := len(vers) - 1; i >= 0 && next.active == nil; i-- {
			if _, refused := r.bad[r.badKey(m.name, vers[i])]; refused && !explicit {
				continue
			}
			v, err := r.loadTracked(ctx, m, vers[i])
			if err != nil {
				lastErr = err
				continue
			}
			next.active = v
		}
		if next.active == nil {
			if lastErr == nil {
				lastErr = fmt.Errorf("%w: model %q has no valid version", ErrUnavailable, m.name)
			}
			r.dropUnused(m, &next)
			return lastErr
		}
		if st.Active != next.active.m.Version && st.Active != "" {
			st.History = appendHistory(st.History, st.Active)
		}
		st.Active = next.active.m.Version
	} else {
		v, err := r.loadTracked(ctx, m, st.Active)
		if err != nil {
			return err
		}
		next.active = v
	}
	if st.Canary != "" {
		v, err := r.loadTracked(ctx, m, st.Canary)
		if err != nil {
			r.dropUnused(m, &next)
			return err
		}
		next.canary, next.canaryPercent = v, st.CanaryPercent
	}
	if st.Shadow != "" {
		v, err := r.loadTracked(ctx, m, st.Shadow)
		if err != nil {
			r.dropUnused(m, &next)
			return err
		}
		next.shadow = v
	}
	if prev := m.route.Load().shadow; prev == nil || next.shadow == nil || prev.m.Version != next.shadow.m.Version {
		m.shadowRuns.Store(0)
		m.shadowAgree.Store(0)
	}
	r.publish(m, &next)
	m.state = *st
	return nil
}

// loadTracked is loaded() that remembers refusals (and forgets them on success).
func (r *Registry) loadTracked(ctx context.Context, m *model, ver string) (*version, error) {
	v, err := r.loaded(ctx, m, ver)
	key := r.badKey(m.name, ver)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			r.bad[key] = err.Error()
			r.log.Warn("model version refused", "model", m.name, "version", ver, "err", err)
		}
		return nil, err
	}
	delete(r.bad, key)
	return v, nil
}

// dropUnused closes versions loaded for a routing that will not be published.
func (r *Registry) dropUnused(m *model, next *routing) {
	cur := m.route.Load().versions()
	for _, v := range next.versions() {
		if !slices.Contains(cur, v) {
			v.close()
		}
	}
}

// badKey names a version together with its files' modification times, so a version
// that was refused is tried again once its files change.
func (r *Registry) badKey(name, ver string) string {
	dir := filepath.Join(r.opts.Dir, name, ver)
	var stamp int64
	for _, f := range []string{ManifestFile, ModelFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			stamp += fi.ModTime().UnixNano() + fi.Size()
		}
	}
	return fmt.Sprintf("%s/%s@%d", name, ver, stamp)
}

// save writes state.json atomically.
func (r *Registry) save(m *model, st State) error {
	st.UpdatedAt = time.Now().UTC()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(r.opts.Dir, m.name, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("models: save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("models: save state: %w", err)
	}
	m.state, m.stateRaw = st, data
	return nil
}

// Refresh brings the registry in line with the repository: new models start serving,
// latest-policy models move to a newer valid version, and a state.json changed by
// another replica or by hand is applied. Watch calls it periodically.
func (r *Registry) Refresh(ctx context.Context) error {
	r.opMu.Lock()
	defer r.opMu.Unlock()
	entries, err := os.ReadDir(r.opts.Dir)
	if err != nil {
		return fmt.Errorf("models: repository %s: %w", r.opts.Dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() || !ValidName(e.Name()) || len(r.versionsOnDisk(e.Name())) == 0 {
			continue
		}
		m := r.modelFor(e.Name())
		st := m.state
		changed := false
		path := filepath.Join(r.opts.Dir, m.name, StateFile)
		if data, err := os.ReadFile(path); err == nil && !bytes.Equal(data, m.stateRaw) {
			var saved State
			if err := json.Unmarshal(data, &saved); err != nil {
				r.log.Warn("model state unreadable", "model", m.name, "err", err)
			} else {
				st, changed = saved, true
			}
			m.stateRaw = data
		}
		rt := m.route.Load()
		if !changed && rt.active != nil && !(st.Policy != PolicyPinned && r.newerCandidate(m.name, rt.active.m.Version)) {
			continue
		}
		if err := r.apply(ctx, m, &st, false); err != nil {
			r.log.Warn("model not (re)loaded", "model", m.name, "err", err)
		}
	}
	return nil
}

// newerCandidate reports whether a version newer than cur exists that was not refused.
func (r *Registry) newerCandidate(name, cur string) bool {
	c, _ := strconv.Atoi(cur)
	for _, v := range r.versionsOnDisk(name) {
		if n, _ := strconv.Atoi(v); n > c {
			if _, refused := r.bad[r.badKey(name, v)]; !refused {
				return true
			}
		}
	}
	return false
}

// Watch calls Refresh every interval, and whenever wake delivers (a server changed the
// repository and said so; nil: never), until ctx ends.
func (r *Registry) Watch(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		if err := r.Refresh(ctx); err != nil {
			r.log.Warn("model repository refresh", "err", err)
		}
	}
}
