-- wrk script of bench/http_load.sh: POST /v1/events with batches of new
-- canonical events, then one machine-readable summary line.
--   FC_TOKEN=fc_... FC_TEMPLATE=batch.json FC_RUN=r1 wrk ... -s bench/http_events.lua URL
-- FC_TEMPLATE is a JSON array of events in which every "@" stands for the
-- batch's own prefix: each request replaces it by "<run>-<thread>-<n>", so no
-- event id is ever posted twice (the run name keeps runs apart too); and
-- every "%T<s>%" by the batch's base instant + s, each request 4,000 s after
-- the one before (FC_T0 the first), so batches are successive hours.
-- FC_JUDGE is the judge parameter (default 1: the batch's orders are queued
-- for the server's background judge and the answer does not wait for it).
-- Prints: FC_WRK label=L requests=N seconds=S rps=R p50_ms=A p99_ms=B
--         max_ms=C non2xx=E socket_errors=F accepted=A duplicates=D rejected=J
--         events_per_s=V

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(os.getenv("FC_TEMPLATE"), "rb"))
   local template = f:read("*a")
   f:close()
   -- The template cut once at its "@" and "%T<s>%": pieces[] holds the
   -- text, and in between either the prefix (false) or an offset (s), so
   -- a request is one table.concat, not two pattern passes.
   pieces, slots = {}, {}
   local at = 1
   while true do
      local a, b, s = template:find("([@%%])", at)
      if not a then break end
      if s == "@" then
         table.insert(pieces, template:sub(at, a - 1))
         table.insert(slots, false)
         at = b + 1
      else
         local c, d, off = template:find("^T(%d+)%%", a + 1)
         table.insert(pieces, template:sub(at, a - 1))
         table.insert(slots, tonumber(off))
         at = d + 1
      end
   end
   table.insert(pieces, template:sub(at))
   parts = {}
   run = os.getenv("FC_RUN") or "r"
   t0 = tonumber(os.getenv("FC_T0") or "1773187200")
   wrk.method = "POST"
   wrk.path = "/v1/events?judge=" .. (os.getenv("FC_JUDGE") or "1")
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("FC_TOKEN")
   accepted, duplicates, rejected = 0, 0, 0
end

function request()
   counter = counter + 1
   local prefix = string.format("%s-%d-%d", run, tid, counter)
   -- each request a later hour of the stream; threads (up to 16)
   -- interleave
   local base = t0 + (counter * 16 + tid) * 4000
   local n = 0
   for i = 1, #slots do
      parts[n + 1] = pieces[i]
      parts[n + 2] = slots[i] and tostring(base + slots[i]) or prefix
      n = n + 2
   end
   parts[n + 1] = pieces[#pieces]
   local body = table.concat(parts, "", 1, n + 1)
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   -- a failed request is counted by wrk (non2xx, socket_errors)
   if status ~= 200 then
      return
   end
   accepted = accepted + tonumber(body:match('"accepted":(%d+)') or 0)
   duplicates = duplicates + tonumber(body:match('"duplicates":(%d+)') or 0)
   rejected = rejected + tonumber(body:match('"rejected":(%d+)') or 0)
end

function done(summary, latency, requests)
   local a, d, j = 0, 0, 0
   for _, t in ipairs(threads) do
      a = a + t:get("accepted")
      d = d + t:get("duplicates")
      j = j + t:get("rejected")
   end
   local e = summary.errors
   local s = summary.duration / 1e6
   io.write(string.format(
      "FC_WRK label=%s requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d accepted=%d duplicates=%d rejected=%d events_per_s=%.0f\n",
      os.getenv("FC_LABEL") or "events", summary.requests, s, summary.requests / s,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.status, e.connect + e.read + e.write + e.timeout, a, d, j, a / s))
end
