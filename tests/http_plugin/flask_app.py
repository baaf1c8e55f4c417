"""A small Flask application: a real framework behind the WSGI adapter."""

from __future__ import annotations

import hashlib

from flask import Flask, Response, jsonify, request, stream_with_context

app = Flask(__name__)


@app.get("/hello/<name>")
def hello(name: str):
    return jsonify(
        name=name,
        args=request.args.to_dict(flat=False),
        agent=request.headers.get("User-Agent"),
        cookie=request.cookies.get("session"),
        url=request.url,
    )


@app.post("/form")
def form():
    files = {
        key: {
            "filename": f.filename,
            "mimetype": f.mimetype,
            "sha256": hashlib.sha256(f.read()).hexdigest(),
        }
        for key, f in request.files.items()
    }
    return jsonify(form=request.form.to_dict(flat=False), files=files)


@app.post("/json")
def echo_json():
    return jsonify(got=request.get_json())


@app.get("/stream")
def stream():
    def numbers():
        for i in range(10):
            yield f"{i}\n"

    return Response(stream_with_context(numbers()), mimetype="text/plain")


@app.get("/redirect")
def redirect_somewhere():
    return "", 302, {"Location": "/hello/there"}


@app.get("/boom")
def boom():
    raise RuntimeError("flask view failed")
