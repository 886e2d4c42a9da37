-- wrk: every connection walks the same request list (PATHS, one path a line) from its own start.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local next_index = 0
setup = function(thread)
  next_index = next_index + 1
  thread:set("start", next_index * 7)
end
local i = nil
request = function()
  i = ((i or start or 0) % #paths) + 1
  return wrk.format("GET", paths[i])
end
