#!/usr/bin/env bash
# Fetches Apache Flume 1.11.0 (flume-ng-node and its runtime dependencies) from Maven Central into
# ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/flume-1.11.0/lib, once. Prints the directory on stdout.
# Used by .ci/setup.d/70-logwatcher.sh and by test/helpers/flume.ts. Jars never enter git.
set -euo pipefail
version=1.11.0
cache="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}"
home="$cache/flume-$version"
lib="$home/lib"
if [ -f "$home/.complete" ]; then echo "$home"; exit 0; fi
command -v mvn >/dev/null || { echo "flume.sh: maven (mvn) is not installed" >&2; exit 1; }
mkdir -p "$home"
work="$(mktemp -d "$home/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>boxscope</groupId>
  <artifactId>flume-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.flume</groupId><artifactId>flume-ng-node</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.flume.flume-ng-sources</groupId><artifactId>flume-taildir-source</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.18.0</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.18.0</version></dependency>
  </dependencies>
</project>
POM
# The local repository lives in the cache too, so a re-run resolves offline.
attempt=1
until mvn -q -B -f "$work/pom.xml" -Dmaven.repo.local="$cache/m2" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib" >&2; do
  if [ "$attempt" -ge 3 ]; then echo "flume.sh: maven failed $attempt times" >&2; exit 1; fi
  attempt=$((attempt + 1)); sleep 5
done
rm -rf "$lib"
mv "$work/lib" "$lib"
touch "$home/.complete"
echo "$home"
