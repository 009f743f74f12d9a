package miosa

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// decodeSeeds are the response variants of the API page.
var decodeSeeds = []string{
	"{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"line one\\nline two\\r\\n\\u2028three\"},\"errors\":{\"a\\nb\":[\"c\\nd\"]}}",
	`[{"id":"nextjs","name":"nextjs","default_cpu":2,"default_memory_mb":"4096","categories":["web"],"built_in":true}]`,
	`{"data":[{"id":"t","name":"web","aliases":["w"]}]}`,
	`{"default_template_id":"nextjs","data":[{"id":"nextjs","name":"n"},{"id":"nextjs","name":"alias"},{"id":"x","alias_of":"n"}]}`,
	`{"id":"t","name":"web","slug":"web","cpu_count":null,"memory_mb":"2048","build_spec":{"from":"node:22","vcpu":1.5e3},"inserted_at":"2025-01-02T03:04:05"}`,
	`{"data":{"id":"t","status":"draft","current_build_id":null,"metadata":{"a":[1,2,{"b":null}]}}}`,
	`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}`,
	`{"data":{"type":"object"}}`,
	`{"valid":true,"build_spec":{"from":"x"}}`,
	`{"data":{"valid":false,"errors":[{"code":"C","field":"f","message":"m"}]}}`,
	`{"valid":false,"errors":["a","b"]}`,
	`{"error":{"code":"INVALID_BUILDSPEC","message":"m"},"errors":[{"field":"f"}]}`,
	`{"data":[{"id":"b","state":"running","duration_ms":"12","started_at":1735787045000}]}`,
	`[{"id":"b","sandbox_template_id":"t","state":"success"}]`,
	`{"data":{"id":"b","state":"queued","error_code":null}}`,
	`{"error":{"code":"RATE_LIMITED","message":"m","request_id":"r","retryable":true,"retry_after":7},"errors":{"slug":["x"]}}`,
	`{"error":"msg"}`,
	`{"message":"msg"}`,
	`{"detail":"msg"}`,
	`{"detail":[{"loc":["body",0],"msg":"m"}]}`,
	`{"errors":["msg"]}`,
	`<html>oops</html>`,
	``,
	`null`,
	`{"data":null}`,
	`{"id":1e999}`,
	`{"data":[{"id":"a"}],"page":{"page":1,"page_size":20,"total":45}}`,
	`{"meta":{"current_page":"2","per_page":1e2,"total_pages":3},"links":{"next":{"href":"/x?page=3"}},"data":[{"id":"a"},[],1]}`,
	`{"templates":[{"id":"a"}],"next":"https://x/y","has_more":"true","data":{"id":"z"}}`,
	`{"builds":[{"id":"b","state":"queued"}],"total":"9e99"}`,
}

// FuzzDecode feeds arbitrary bodies to every tolerant decoder: none may panic.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decodeTemplate(body)
		_, _ = decodeList(body)
		_, _ = decodeBuild(body)
		_, _ = decodeBuilds(body)
		_, _ = decodeValidate(body)
		_, _ = decodeSchema(body)
		eb := parseErrorBody(body)
		_ = retryAfter(eb.retryAfter, "")
		e := &Error{Method: "GET", Path: "/x", Status: 500, Code: eb.code, Message: eb.message, Fields: eb.fields}
		_ = e.Error()
		// Whatever the body, the client's error is one line.
		c := &Client{base: "http://127.0.0.1:1/api/v1", v1Path: true, key: "msk_u_fuzz_0123456789"}
		for _, status := range []int{400, 404, 409, 422, 500} {
			res := &response{status: status, header: http.Header{"X-Request-Id": {"r\nid"}}, body: body}
			e, _ := c.failure(&call{method: http.MethodGet, path: "/sandbox-templates"}, &policy{}, res, nil)
			if msg := e.Error(); strings.ContainsAny(msg, "\n\r\u2028\u2029\u0085") {
				t.Fatalf("status %d, body %q: error %q is not one line", status, body, msg)
			}
		}
	})
}

// FuzzRedact checks that cleaned text never holds 8 consecutive characters
// of the key.
func FuzzRedact(f *testing.F) {
	const key = "msk_u_canary_Q7vX2pLk9mZr4TbN8sWc1HdY"
	f.Add("error " + key + " again " + key[5:20])
	f.Add(key[:9] + "\n" + key[9:] + "\x00" + key)
	f.Add("line one\r\nline two\u2028three\u0085four")
	f.Add(strings.Repeat(key[:7], 5))
	f.Fuzz(func(t *testing.T, s string) {
		got := secret(key).clean(s)
		for i := 0; i+minFragment <= len(key); i++ {
			if strings.Contains(got, key[i:i+minFragment]) {
				t.Fatalf("clean(%q) = %q holds %q", s, got, key[i:i+minFragment])
			}
		}
		if strings.ContainsAny(got, "\n\r\x00") {
			t.Fatalf("clean(%q) = %q is not one line", s, got)
		}
	})
}

// decodeBuilds reads one page of a build list: {"data": [...]},
// {"builds": [...]} or a bare array, as EachBuild reads each page.
func decodeBuilds(body []byte) ([]Build, error) {
	var builds []Build
	_, err := readPage(bytes.NewReader(body), buildRowKeys, 0, func(o obj) error {
		builds = append(builds, buildFrom(o))
		return nil
	})
	if err != nil {
		return nil, malformed(err)
	}
	return builds, nil
}
