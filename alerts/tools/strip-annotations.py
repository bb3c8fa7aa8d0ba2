# Developer tool: drops every exp_annotations block from the given promtool test files so that
# fill-annotations.mjs renders them again after a rule's annotation text changed. Review the diff.
import re, sys
for p in sys.argv[1:]:
    s = open(p).read()
    s = re.sub(r"\n +exp_annotations:\n( {14,}.*\n)+", "\n", s)
    open(p, "w").write(s)
