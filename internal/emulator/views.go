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

// templateView is the full template object of GET and create.
func templateView(t *template) map[string]any {
	return map[string]any{
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
		"runtimes":         t.Runtimes,
		"artifact_paths":   t.ArtifactPaths,
		"build_spec":       t.BuildSpec,
		"current_build_id": nullable(t.CurrentBuildID),
		"metadata":         cloneMap(t.Metadata),
		"inserted_at":      ts(t.InsertedAt),
		"updated_at":       ts(t.UpdatedAt),
	}
}

// listRow is the reduced catalog view of GET /sandbox-templates.
func listRow(t *template) map[string]any {
	categories := []string{}
	if t.Category != "" {
		categories = []string{t.Category}
	}
	return map[string]any{
		"id":                t.ID,
		"name":              t.Name,
		"description":       t.Description,
		"image_id":          nullable(t.ImageID),
		"categories":        categories,
		"default":           t.Default,
		"built_in":          t.BuiltIn,
		"public":            t.Public,
		"status":            t.Status,
		"default_cpu":       t.CPUCount,
		"default_memory_mb": t.MemoryMB,
		"disk_mb":           t.DiskMB,
		"workdir":           t.Workdir,
		"preview_port":      nullableInt(t.PreviewPort),
		"runtimes":          t.Runtimes,
		"artifact_paths":    t.ArtifactPaths,
		"metadata":          cloneMap(t.Metadata),
	}
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

// buildView renders a build; states selects the state vocabulary and
// override, when set, replaces the state (unknown-state fault).
func buildView(b *build, states, override string) map[string]any {
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
	md := cloneMap(b.Metadata)
	events := make([]map[string]any, 0, len(b.Events))
	for _, e := range b.Events {
		events = append(events, map[string]any{"event": e.Event, "at": ts(e.At)})
	}
	md["events"] = events
	var durationMS any
	if !b.FinishedAt.IsZero() {
		durationMS = b.FinishedAt.Sub(b.StartedAt).Milliseconds()
	}
	return map[string]any{
		"id":                  b.ID,
		"sandbox_template_id": b.TemplateID,
		"source_type":         b.SourceType,
		"state":               state,
		"image_id":            nullable(b.ImageID),
		"log_url":             nullable(b.LogURL),
		"error_code":          nullable(b.ErrorCode),
		"error_message":       nullable(b.ErrorMessage),
		"metadata":            md,
		"started_at":          ts(b.StartedAt),
		"finished_at":         ts(b.FinishedAt),
		"duration_ms":         durationMS,
		"build_spec":          b.BuildSpec,
		"inserted_at":         ts(b.InsertedAt),
		"updated_at":          ts(b.UpdatedAt),
	}
}
