"""A tiny RunPod serverless worker for Rekindle's tests.

It reads `image_url` from the job input, downloads the photo and returns it unchanged as the
"restored" result, as a base64 data URL under `image_url` (the local test server has nowhere
to put files). A download failure raises, which RunPod reports as FAILED.

Run: python handler.py --rp_serve_api --rp_api_port 8000 --rp_api_host 127.0.0.1
"""

import base64
import urllib.request

import runpod


def handler(job):
    url = job["input"]["image_url"]
    with urllib.request.urlopen(url, timeout=30) as response:
        content_type = response.headers.get_content_type()
        data = response.read()
    if not content_type.startswith("image/"):
        raise ValueError(f"the source is not an image ({content_type})")
    encoded = base64.b64encode(data).decode("ascii")
    return {"kind": "result", "image_url": f"data:{content_type};base64,{encoded}"}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
