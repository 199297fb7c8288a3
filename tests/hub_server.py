"""A tiny in-memory Hugging Face Hub for tests: just the HTTP API that ``create_repo``,
``upload_folder`` (without Xet: ``HF_HUB_DISABLE_XET=1``) and ``hf_hub_download`` use.

    hub = FakeHub().start()       # http://127.0.0.1:PORT; point HF_ENDPOINT at hub.url
    ...                           # push and download in a subprocess with that environment
    hub.repos["user/name"]        # {path: bytes} of the last commit
    hub.stop()

Routes (model repos only, one branch):
    POST /api/repos/create                       {"name", "organization"} -> {"url"}; 409 if it exists
    POST /api/validate-yaml                      README.md front matter: always valid
    POST /api/models/{repo}/preupload/{rev}      every file "regular": its bytes come base64 in the commit
    POST /api/models/{repo}/commit/{rev}         NDJSON: a header line, then one line per file operation
    HEAD|GET /{repo}/resolve/{rev}/{path}        the file, with the headers hf_hub_download checks
"""

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
ROUTES = [
    ("POST", re.compile(r"/api/repos/create"), "create"),
    ("POST", re.compile(r"/api/validate-yaml"), "validate_yaml"),
    ("POST", re.compile(rf"/api/models/{REPO}/preupload/(?P<rev>[^/]+)"), "preupload"),
    ("POST", re.compile(rf"/api/models/{REPO}/commit/(?P<rev>[^/]+)"), "commit"),
    ("GET", re.compile(rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)"), "resolve"),
    ("HEAD", re.compile(rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)"), "resolve"),
]


def git_blob_sha(data: bytes) -> str:
    """The git object id of a file: the ETag the hub gives files that are not in LFS."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """Repos in memory: ``repos[repo_id]`` maps paths to bytes, ``commits[repo_id]`` is the head commit id."""

    def __init__(self):
        self.repos: dict[str, dict[str, bytes]] = {}
        self.commits: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hub._dispatch(self, "GET")

            def do_HEAD(self):
                hub._dispatch(self, "HEAD")

            def do_POST(self):
                hub._dispatch(self, "POST")

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FakeHub":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ plumbing

    def _dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = request.path.split("?")[0]
        self.requests.append((method, path))
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0)) if method == "POST" else b""
        for route_method, pattern, name in ROUTES:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                with self.lock:
                    status, headers, payload = getattr(self, name)(body, **match.groupdict())
                break
        else:
            status, headers, payload = 404, {"X-Error-Code": "RepoNotFound"}, {"error": f"no route {method} {path}"}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        request.send_response(status)
        headers = {"Content-Type": "application/json", **headers, "Content-Length": str(len(data))}
        for key, value in headers.items():
            request.send_header(key, value)
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(data)

    def _missing(self, repo: str) -> Optional[tuple]:
        if repo not in self.repos:
            return 404, {"X-Error-Code": "RepoNotFound"}, {"error": f"Repository {repo} not found"}
        return None

    # ------------------------------------------------------------------ routes

    def create(self, body: bytes):
        spec = json.loads(body)
        repo = f"{spec['organization']}/{spec['name']}"
        url = {"url": f"{self.url}/{repo}"}
        if repo in self.repos:
            return 409, {}, {"error": "You already created this model repo", **url}
        self.repos[repo], self.commits[repo] = {}, hashlib.sha1(repo.encode()).hexdigest()
        return 200, {}, url

    def validate_yaml(self, body: bytes):
        return 200, {}, {"errors": [], "warnings": []}

    def preupload(self, body: bytes, repo: str, rev: str):
        files = json.loads(body)["files"]
        existing = self.repos.get(repo, {})
        return self._missing(repo) or (200, {}, {"files": [
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
             "oid": git_blob_sha(existing[f["path"]]) if f["path"] in existing else None}
            for f in files
        ]})

    def commit(self, body: bytes, repo: str, rev: str):
        if missing := self._missing(repo):
            return missing
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        assert lines[0]["key"] == "header", lines[0]
        files = dict(self.repos[repo])
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                assert value["encoding"] == "base64", value
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            else:  # lfsFile, deletedFolder, ...: not needed since preupload answers "regular"
                return 422, {}, {"error": f"fake hub: unsupported commit operation {key}"}
        commit = hashlib.sha1((self.commits[repo] + body.decode()).encode()).hexdigest()
        self.repos[repo], self.commits[repo] = files, commit
        return 200, {}, {"commitUrl": f"{self.url}/{repo}/commit/{commit}", "commitOid": commit}

    def resolve(self, body: bytes, repo: str, rev: str, path: str):
        if missing := self._missing(repo):
            return missing
        if rev not in ("main", self.commits[repo]):
            return 404, {"X-Error-Code": "RevisionNotFound"}, {"error": f"Invalid rev id: {rev}"}
        commit = {"X-Repo-Commit": self.commits[repo]}
        if path not in self.repos[repo]:
            return 404, {"X-Error-Code": "EntryNotFound", **commit}, {"error": f"{path} does not exist"}
        data = self.repos[repo][path]
        return 200, {"Content-Type": "application/octet-stream", "ETag": f'"{git_blob_sha(data)}"', **commit}, data
