-- ARGV: prefix, ids...  Removes the final ones; answers the ids removed.
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
return forget(ids)
