-- One wrk script for every scenario. The harness writes a Lua table file with
-- the requests to make and passes its path in BENCH_CFG:
--   return { method = "GET", headers = {...}, paths = {...}, bodies = {...}, header_sets = {...} }
-- Each request picks a random path (and body, and header set when given). Per-status counts are kept in
-- every thread and `done` prints one line "BENCH_JSON {...}" with the summary,
-- latency percentiles (microseconds) and those counts.

local cfg = dofile(os.getenv("BENCH_CFG"))
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("tid", counter)
   table.insert(threads, thread)
end

local paths, bodies, npaths, nbodies, hsets, nhsets
counts = {}  -- global: done() reads it from each thread with thread:get

function init(args)
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
   paths = cfg.paths
   npaths = #paths
   bodies = cfg.bodies or {}
   nbodies = #bodies
   hsets = cfg.header_sets or {}
   nhsets = #hsets
   wrk.method = cfg.method or "GET"
   for name, value in pairs(cfg.headers or {}) do
      wrk.headers[name] = value
   end
end

function request()
   local path = paths[math.random(npaths)]
   local headers = nil
   if nhsets > 0 then
      headers = hsets[math.random(nhsets)]  -- a complete header set, e.g. one customer's token
   end
   if nbodies > 0 then
      return wrk.format(nil, path, headers, bodies[math.random(nbodies)])
   end
   return wrk.format(nil, path, headers)
end

function response(status, headers, body)
   local key = tostring(status)
   counts[key] = (counts[key] or 0) + 1
end

local function q(s)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local status = {}
   for _, thread in ipairs(threads) do
      local t = thread:get("counts")
      if t ~= nil then
         for k, v in pairs(t) do
            status[k] = (status[k] or 0) + v
         end
      end
   end
   local st = {}
   for k, v in pairs(status) do
      table.insert(st, q(k) .. ":" .. v)
   end
   local pct = {}
   for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
      table.insert(pct, q(tostring(p)) .. ":" .. latency:percentile(p))
   end
   local e = summary.errors
   io.write("BENCH_JSON {",
      q("requests"), ":", summary.requests, ",",
      q("duration_us"), ":", summary.duration, ",",
      q("bytes"), ":", summary.bytes, ",",
      q("errors"), ":{", q("connect"), ":", e.connect, ",", q("read"), ":", e.read, ",",
         q("write"), ":", e.write, ",", q("status"), ":", e.status, ",", q("timeout"), ":", e.timeout, "},",
      q("latency_us"), ":{", q("min"), ":", latency.min, ",", q("max"), ":", latency.max, ",",
         q("mean"), ":", latency.mean, ",", q("stdev"), ":", latency.stdev, ",",
         q("percentiles"), ":{", table.concat(pct, ","), "}},",
      q("status"), ":{", table.concat(st, ","), "}",
      "}\n")
end
