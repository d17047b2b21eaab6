"""The drills' harness without a region: results, report, tampering, tokens, probes, CLI."""

import base64
import http.server
import io
import json
import tarfile
import threading
from typing import ClassVar

import pytest

from drills import (
    bundle_tampering,
    cli,
    decisions,
    hostile_tokens,
    http_probe,
    load_phases,
    repository_log,
)
from drills.hostile_requests import build_cases
from drills.report import render_markdown
from drills.result import DrillResult, Table
from loadgen import LoadResult, RequestResult


def make_bundle(files: dict[str, bytes]) -> bytes:
    output = io.BytesIO()
    with tarfile.open(fileobj=output, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return output.getvalue()


def read_bundle(bundle: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as archive:
        return {m.name.lstrip("/"): archive.extractfile(m).read() for m in archive.getmembers()}


SIGNED_BUNDLE = make_bundle(
    {
        "/data.json": json.dumps({"authz": {"revoked": ["legacy-batch"]}}).encode(),
        "/.manifest": json.dumps({"revision": "r1", "roots": ["envoy", "authz"]}).encode(),
        "/.signatures.json": b'{"signatures": ["x.y.z"]}',
        "/policy.wasm": b"\x00asm",
    }
)


def test_result_fails_when_a_timing_check_fails():
    result = DrillResult("d", "D", quick=True)
    result.check("safe", True)
    result.check("fast", False, safety=False)
    assert result.safety_passed
    assert not result.passed


def test_result_without_checks_does_not_pass():
    result = DrillResult("d", "D", quick=True)
    assert not result.passed
    assert not result.safety_passed


def test_result_with_error_does_not_pass():
    result = DrillResult("d", "D", quick=True)
    result.check("safe", True)
    result.error = "DrillError: timed out"
    assert not result.safety_passed


def test_report_lists_figures_tables_and_checks():
    result = DrillResult("late-binding", "3. Late binding", quick=False)
    result.figure("every agent enforcing, max", 2.25, "s")
    result.tables.append(Table("Rounds", ["round", "seconds"], [[1, 1.5]]))
    result.check("every agent enforced every revision", True, "5 rounds")
    page = render_markdown([result], revision="abc1234", machine="2 cores")
    assert "| [3. Late binding](#late-binding) | pass | 1/1 |" in page
    assert "| every agent enforcing, max | 2.25 | s |" in page
    assert "| 1 | 1.50 |" in page
    assert "| every agent enforced every revision | safety | yes | 5 rounds |" in page
    assert "at commit `abc1234` on 2 cores" in page


def test_report_states_load_at_start_and_end():
    result = DrillResult("cell-down", "7. Cell down", quick=False)
    result.check("no user of another cell had a failed request", True)
    page = render_markdown(
        [result],
        revision="abc1234",
        machine="2 cores",
        load_at_start=(1.5, 1.25, 0.5),
        load_at_end=(2.0, 1.75, 1.0),
    )
    assert (
        "Load average (1, 5, 15 min) at the start: 1.50, 1.25, 0.50; "
        "at the end: 2.00, 1.75, 1.00." in page
    )


def test_report_names_a_safety_failure():
    result = DrillResult("hostile-requests", "8. Hostile", quick=True)
    result.check("no input that must be denied reached a service", False, "x: 200")
    page = render_markdown([result], revision="abc1234", machine="2 cores")
    assert "| fail (safety) |" in page


def test_rewrite_bundle_keeps_stale_signature():
    rewritten = read_bundle(
        bundle_tampering.rewrite_bundle(
            SIGNED_BUNDLE, lambda d: d["authz"]["revoked"].clear(), revision="tampered"
        )
    )
    assert json.loads(rewritten["data.json"]) == {"authz": {"revoked": []}}
    assert json.loads(rewritten[".manifest"])["revision"] == "tampered"
    assert rewritten[".signatures.json"] == b'{"signatures": ["x.y.z"]}'
    assert rewritten["policy.wasm"] == b"\x00asm"


def test_rewrite_bundle_drops_signature():
    rewritten = bundle_tampering.rewrite_bundle(SIGNED_BUNDLE, keep_signatures=False)
    assert sorted(bundle_tampering.member_names(rewritten)) == [
        ".manifest",
        "data.json",
        "policy.wasm",
    ]


def _segments(token: str) -> list[dict | bytes]:
    header, claims, signature = token.split(".")

    def decode(segment: str) -> bytes:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))

    return [json.loads(decode(header)), json.loads(decode(claims)), decode(signature)]


VALID = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmRlcnMtd2ViIn0.c2lnbmF0dXJl"
OTHER = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiaWxsaW5nIn0.b3RoZXI"


def test_unsigned_token_has_alg_none_and_no_signature():
    header, claims, signature = _segments(hostile_tokens.unsigned(VALID))
    assert header["alg"] == "none"
    assert claims == {"sub": "orders-web"}
    assert signature == b""


def test_hmac_token_is_hs256_over_same_claims():
    header, claims, signature = _segments(
        hostile_tokens.hmac_with_public_key(VALID, b"-----BEGIN PUBLIC KEY-----")
    )
    assert header["alg"] == "HS256"
    assert claims == {"sub": "orders-web"}
    assert len(signature) == 32


def test_swapped_claims_keep_the_original_signature():
    _, claims, signature = _segments(hostile_tokens.swapped_claims(VALID, OTHER))
    assert claims == {"sub": "billing"}
    assert signature == b"signature"


def fake_token(caller: str, **options) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"sub": caller, **options}).encode())
    return f"eyJhbGciOiJFUzI1NiJ9.{claims.decode().rstrip('=')}.c2ln"


def test_hostile_cases_cover_the_required_families():
    cases = build_cases(fake_token, b"pem", "user-eu", "user-us")
    names = " ".join(case.name for case in cases)
    targets = [case.target for case in cases]
    assert len([case for case in cases if not case.served]) >= 25
    for family in ("oversized", "expired", "malformed", "unknown key", "upper-case", "query"):
        assert family in names, family
    assert any("/../" in target for target in targets)
    assert any("%2F" in target or "%2f" in target for target in targets)
    assert any("%2e" in target for target in targets)
    assert any("//" in target.split("://")[-1] for target in targets)


def test_hostile_cases_expect_a_denial_unless_served():
    cases = build_cases(fake_token, b"pem", "user-eu", "user-us")
    for case in cases:
        if case.served:
            assert case.expected_status == 200, case.name
        else:
            assert 400 <= case.expected_status < 500, case.name


def test_changed_decisions_names_the_probe():
    before = {"u1 billing GET /v1/invoices": decisions.Decision(403, "revoked")}
    after = {"u1 billing GET /v1/invoices": decisions.Decision(200, None)}
    assert decisions.changed_decisions(before, after) == [
        "u1 billing GET /v1/invoices: 403 revoked -> 200 -"
    ]


def test_cell_decisions_are_keyed_by_cell(recording_server):
    port = recording_server.server_port
    probes = decisions.decision_probes(["probe"], lambda caller: f"token-{caller}")
    taken = decisions.take_cell_decisions({"eu-1": port, "us-1": port}, probes[:2])
    assert sorted(taken) == sorted(
        f"{cell} {probe.name}" for cell in ("eu-1", "us-1") for probe in probes[:2]
    )
    assert set(taken.values()) == {decisions.Decision(204, None)}


def test_decision_probes_cover_every_user_and_caller():
    probes = decisions.decision_probes(["u1", "u2"], lambda caller: f"token-{caller}")
    per_user = len(decisions.PROBED_REQUESTS) * (len(decisions.PROBED_CALLERS) + 1) + 1
    assert len(probes) == 2 * per_user
    assert len({probe.name for probe in probes}) == len(probes)


def request(start: float, status: int, latency: float = 0.002) -> RequestResult:
    return RequestResult(0, start, latency, status, "", "GET", "http://127.0.0.1:1/", {}, b"")


def test_repository_counter_reads_coloured_lines(tmp_path):
    log = tmp_path / "repository.log"
    log.write_text('127.0.0.1 - - [04/Dec/2026 15:00:00] "GET /b/old HTTP/1.1" 200 -\n')
    counter = repository_log.RequestCounter(log, "bundles/authz/current/bundle.tar.gz")
    counter.start()
    with log.open("a") as output:
        output.write(
            "127.0.0.1 - - [04/Dec/2026 15:45:16] "
            '"\x1b[36mGET /b/bundles/authz/current/bundle.tar.gz HTTP/1.1\x1b[0m" 304 -\n'
            "127.0.0.1 - - [04/Dec/2026 15:45:17] "
            '"GET /b/bundles/authz/current/bundle.tar.gz HTTP/1.1" 200 -\n'
            "127.0.0.1 - - [04/Dec/2026 15:45:17] "
            '"\x1b[32mPUT /b/bundles/authz/current/bundle.tar.gz HTTP/1.1\x1b[0m" 200 -\n'
            "127.0.0.1 - - [04/Dec/2026 15:45:18] "
            '"GET /b/bundles/authz/r2/bundle.tar.gz HTTP/1.1" 200 -\n'
        )
    assert counter.count() == 2
    assert counter.count_by_status() == {200: 1, 304: 1}


def test_split_phases_by_start_time():
    result = LoadResult(10, 3, 2, (request(0.5, 200), request(1.5, 200), request(2.5, 503)))
    phases = load_phases.split_phases(result, [("before", 0, 1), ("during", 1, 2), ("after", 2, 3)])
    assert [len(phases[name]) for name in ("before", "during", "after")] == [1, 1, 1]


def test_summarise_counts_unexpected_status_as_failed():
    summary = load_phases.summarise("after", [request(0, 200, 0.001), request(0, 503, 0.003)], 200)
    assert summary.sent == 2
    assert summary.failed == 1
    assert summary.p50_ms == pytest.approx(1.0)
    assert summary.p99_ms == pytest.approx(3.0)


def test_split_windows_by_start_time():
    requests = [request(10.0, 200), request(14.9, 200), request(15.0, 200), request(22.0, 503)]
    windows = load_phases.split_windows(requests, 10.0, 22.0, 5.0)
    assert [(offset, len(window)) for offset, window in windows] == [(0.0, 2), (5.0, 1), (10.0, 0)]


def test_split_windows_rejects_zero_width():
    with pytest.raises(ValueError, match="invalid window width 0: expected seconds above 0"):
        load_phases.split_windows([], 0.0, 1.0, 0)


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self):
        self.paths.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def recording_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_send_keeps_the_request_target_unchanged(recording_server):
    _RecordingHandler.paths.clear()
    target = "/v1/orders/../%2e%2e//invoices?x=/../y"
    response = http_probe.send(recording_server.server_port, "GET", target)
    assert response.status == 204
    assert _RecordingHandler.paths == [target]


def test_send_reports_a_refused_connection_as_status_zero(recording_server):
    port = recording_server.server_port
    recording_server.server_close()
    response = http_probe.send(port, "GET", "/")
    assert response.status == 0
    assert response.error


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no drill named"),
        (["cell-gone"], "unknown drill 'cell-gone'"),
    ],
)
def test_cli_rejects_bad_drill_selection(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_selects_every_drill_in_quick_mode():
    parser = cli.build_parser()
    assert cli.select_drills(parser, [], quick=True)[0] == "repository-outage"
    assert len(cli.select_drills(parser, ["all"], quick=False)) == 8
