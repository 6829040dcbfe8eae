// Package models is the model repository and registry behind every ONNX stage of the
// message flow (vision today; any task a manifest names). It knows models, versions and
// tensors, never which stage uses a model (docs/architecture.md, "Packages").
//
// On disk a repository holds <repo>/<name>/<version>/model.onnx with a manifest.yaml
// beside it (task, inputs and outputs, labels, preprocessing for the stage, an optional
// evaluation set with thresholds, batching and concurrency), and <repo>/<name>/state.json,
// the registry's routing (policy, active version, canary, shadow, history) so that a
// restart or another replica serves exactly what an ML engineer last chose.
// Every file a manifest names is a relative path inside its version folder and is read
// (and, by Push, copied) through an os.Root, so no manifest reaches a file outside it.
//
// The registry loads a version, validates it (manifest against the model's real inputs
// and outputs, a smoke inference, the evaluation set through the task's Evaluator) and
// only then swaps it in atomically; requests that started on the old version finish on
// it (drain) before its session is closed. Routing supports latest, pinned, canary N %,
// shadow (the candidate runs on live traffic without answering; agreement is counted)
// and rollback. Each version runs with a concurrency limit and, when its inputs have a
// dynamic batch axis, dynamic batching (max batch, max queue delay).
package models
