-- wrk script of the serving and monitoring benchmarks (run by benchmarks/harness/wrk.py):
-- each request POSTs one JSON body, cycling through a file of bodies (one per line), so
-- consecutive requests score different rows.
-- Environment: BENCH_BODIES (the file), BENCH_PATH (the URL path), BENCH_AUTH (optional
-- "Bearer ..." header value). done() prints one line "WRK_JSON {...}" with the counts and
-- latency percentiles (microseconds) that harness/wrk.py reads.
local bodies = {}
local n, i = 0, 0
local path = os.getenv("BENCH_PATH")
for line in io.lines(os.getenv("BENCH_BODIES")) do
  n = n + 1
  bodies[n] = line
end
local headers = { ["Content-Type"] = "application/json" }
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  headers["Authorization"] = auth
end

local threads = 0
function setup(thread) -- runs in the main state: give each thread its own start
  thread:set("offset", threads * 331)
  threads = threads + 1
end

function init(args)
  i = (offset or 0) % n
end

function request()
  i = (i % n) + 1
  return wrk.format("POST", path, headers, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"mean_us":%.1f,"max_us":%d,"stdev_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max,
    latency.stdev))
end
