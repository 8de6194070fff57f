-- POST /v1/sessions with the valid credentials of the accounts bench/load.sh created
-- (BENCH_ACCOUNTS of them, signin-N@bench.hearth), round robin.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  n = tonumber(os.getenv("BENCH_ACCOUNTS") or "8")
  i = tid
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
end

function request()
  i = i + 1
  local body = string.format(
    '{"email":"signin-%d@bench.hearth","password":"Correct-Horse-7-Battery","device_id":"bench-tv-%d","device_type":"tv","device_name":"Bench TV"}',
    i % n, tid)
  return wrk.format(nil, "/v1/sessions", nil, body)
end
