#!/usr/bin/env python3
"""Times the Identity Manager's SCIM users pane as a browser loads it.

Seeds N users into a running scim-gateway through its SCIM endpoint (as Entra would, many
at once), signs in to /ui/ with an administrator account, then fetches the Configurations
tab (whose SCIM users pane shows the first page) R times and prints p50/p90/max.

    scim-gateway --data-dir /tmp/gw &      # note the Secret Token and the admin password
    scripts/ui_pane_timing.py --url http://127.0.0.1:8080 --tenant demo \
        --token SECRET --admin admin --password PASSWORD --users 10000

Python 3 standard library only.
"""
import argparse
import concurrent.futures
import http.cookiejar
import json
import re
import statistics
import time
import urllib.parse
import urllib.request


def post_user(base, tenant, token, i):
    body = json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"pane.user{i:07d}@example.com",
        "externalId": f"ext-{i}",
        "name": {"givenName": f"Given{i}", "familyName": f"Family{i % 997}"},
        "displayName": f"Given{i} Family{i % 997}",
        "emails": [{"value": f"pane.user{i:07d}@example.com", "type": "work", "primary": True}],
        "active": True,
    }).encode()
    req = urllib.request.Request(
        f"{base}/scim/{tenant}/Users", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--tenant", default="demo")
    ap.add_argument("--token", required=True)
    ap.add_argument("--admin", default="admin")
    ap.add_argument("--password", required=True)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--path", default=None, help="page to time (default: the Configurations tab)")
    a = ap.parse_args()
    base = a.url.rstrip("/")
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        codes = list(ex.map(lambda i: post_user(base, a.tenant, a.token, i), range(a.users)))
    created = sum(1 for c in codes if c == 201)
    print(f"seeded: {created} created, {sum(1 for c in codes if c == 409)} existed, "
          f"{len(codes) - created} not created, in {time.time() - t0:.1f} s")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/ui/signin").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"user_name": a.admin, "password": a.password,
                                   "csrf": csrf, "next": "/ui/"}).encode()
    req = urllib.request.Request(f"{base}/ui/signin", data=form, headers={"Origin": base})
    opener.open(req).read()
    path = a.path or f"/ui/t/{a.tenant}/configurations"
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        with opener.open(f"{base}{path}") as r:
            body = r.read()
            assert r.status == 200, r.status
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"GET {path}: {len(body)} bytes; p50 {statistics.median(times):.1f} ms, "
          f"p90 {times[int(len(times) * 0.9) - 1]:.1f} ms, max {times[-1]:.1f} ms "
          f"over {a.repeat} requests")


if __name__ == "__main__":
    main()
