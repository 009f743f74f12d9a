package emulator

import (
	"time"
)

// timeFormat is the server's timestamp form (UTC, microseconds).
const timeFormat = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// templateView is the full template object of GET and create: exactly the
// keys of the server's render_template, plus "metadata" when clientMD.
func templateView(t *template, clientMD bool) map[string]any {
	v := map[string]any{
		"id":               t.ID,
		"name":             t.Name,
		"slug":             t.Slug,
		"description":      t.Description,
		"image_id":         nullable(t.ImageID),
		"category":         t.Category,
		"default":          t.Default,
		"built_in":         t.BuiltIn,
		"public":           t.Public,
		"status":           t.Status,
		"cpu_count":        t.CPUCount,
		"memory_mb":        t.MemoryMB,
		"disk_mb":          t.DiskMB,
		"workdir":          t.Workdir,
		"preview_port":     nullableInt(t.PreviewPort),
		"install_command":  nullable(t.InstallCommand),
		"start_command":    nullable(t.StartCommand),
		"readiness_probe":  nullable(t.ReadinessProbe),
		"runtimes":         t.Runtimes,
		"artifact_paths":   t.ArtifactPaths,
		"build_spec":       t.BuildSpec,
		"current_build_id": nullable(t.CurrentBuildID),
		"inserted_at":      ts(t.InsertedAt),
		"updated_at":       ts(t.UpdatedAt),
	}
	if clientMD {
		v["metadata"] = cloneMap(t.Metadata)
	}
	return v
}

// listRow is the reduced catalog view of GET /sandbox-templates: exactly
// the keys of the server's render_for_catalog, plus "metadata" when clientMD.
func listRow(t *template, clientMD bool) map[string]any {
	categories := []string{}
	if t.Category != "" {
		categories = []string{t.Category}
	}
	tags := t.Tags
	if tags == nil {
		tags = []string{}
	}
	v := map[string]any{
		"id":                t.ID,
		"name":              t.Name,
		"description":       t.Description,
		"image_id":          nullable(t.ImageID),
		"categories":        categories,
		"default":           t.Default,
		"built_in":          t.BuiltIn,
		"status":            t.Status,
		"default_cpu":       t.CPUCount,
		"default_memory_mb": t.MemoryMB,
		"disk_mb":           t.DiskMB,
		"workdir":           t.Workdir,
		"preview_port":      nullableInt(t.PreviewPort),
		"install_command":   nullable(t.InstallCommand),
		"start_command":     nullable(t.StartCommand),
		"readiness_probe":   nullable(t.ReadinessProbe),
		"runtimes":          t.Runtimes,
		"artifact_paths":    t.ArtifactPaths,
		"tags":              tags,
	}
	if clientMD {
		v["metadata"] = cloneMap(t.Metadata)
	}
	return v
}

// legacyStates maps modern build states to the older vocabulary.
var legacyStates = map[string]string{
	stateQueued:       "pending",
	stateBuilding:     "running",
	stateCertifying:   "running",
	stateSnapshotting: "running",
	stateReady:        "success",
	stateFailed:       "error",
}

// buildView renders a build with the server's build keys; states selects
// the state vocabulary and override, when set, replaces the state
// (unknown-state fault). The metadata is the server's {"events": [...]},
// with the client's keys merged in (events win) when clientMD.
func buildView(b *build, states, override string, clientMD bool) map[string]any {
	state := b.State
	switch states {
	case "legacy", "legacy-complete":
		if s, ok := legacyStates[state]; ok {
			state = s
		}
		if states == "legacy-complete" && state == "success" {
			state = "complete"
		}
	}
	if override != "" {
		state = override
	}
	md := map[string]any{}
	if clientMD {
		md = cloneMap(b.Metadata)
	}
	events := make([]map[string]any, 0, len(b.Events))
	var certifiedAt time.Time
	for _, e := range b.Events {
		events = append(events, map[string]any{"event": e.Event, "at": ts(e.At)})
		if e.Event == stateSnapshotting {
			certifiedAt = e.At
		}
	}
	md["events"] = events
	var durationMS any
	if !b.FinishedAt.IsZero() {
		durationMS = int64(0)
		if !b.StartedAt.IsZero() {
			durationMS = b.FinishedAt.Sub(b.StartedAt).Milliseconds()
		}
	}
	var rootfs, manifest, certification any
	if b.State == stateReady {
		rootfs = "/var/lib/miosa/templates/" + b.TemplateID + "/builds/" + b.ID + "/rootfs.ext4"
		manifest = map[string]any{"version": 1, "image_id": b.ImageID, "files": []string{"rootfs.ext4", "memory.snap", "vmstate.snap"}}
	}
	if !certifiedAt.IsZero() {
		certification = map[string]any{"status": "passed", "checks": []string{"boot", "exec", "network"}, "at": ts(certifiedAt)}
	}
	return map[string]any{
		"id":                  b.ID,
		"sandbox_template_id": b.TemplateID,
		"source_type":         b.SourceType,
		"state":               state,
		"image_id":            nullable(b.ImageID),
		"rootfs_path":         rootfs,
		"snapshot_manifest":   manifest,
		"log_url":             nullable(b.LogURL),
		"error_code":          nullable(b.ErrorCode),
		"error_message":       nullable(b.ErrorMessage),
		"metadata":            md,
		"certification":       certification,
		"started_at":          ts(b.StartedAt),
		"finished_at":         ts(b.FinishedAt),
		"duration_ms":         durationMS,
		"build_spec":          b.BuildSpec,
		"inserted_at":         ts(b.InsertedAt),
		"updated_at":          ts(b.UpdatedAt),
	}
}
