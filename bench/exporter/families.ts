/**
 * Which metric families of a Prometheus text exposition carry series of given containers: the
 * bench's count of "container metrics" on each side. Pure.
 *
 * A series belongs to a container when one of its label values holds the container's id, or at
 * least its first 12 hex digits (boxscope's `container_id`, cAdvisor's `id` = the cgroup path
 * `/<parent>/<64hex>`), so the count does not depend on either exporter's label names.
 */

const SHORT_ID = 12;
const HEX_RUN = /[0-9a-f]{12,}/g;

/** Family (sample name) → how many of `ids` have at least one series in it. */
export function containerFamilies(body: string, ids: Iterable<string>): Map<string, number> {
  const wanted = new Set<string>();
  for (const id of ids) wanted.add(id.slice(0, SHORT_ID));
  const seen = new Map<string, Set<string>>();
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    if (brace < 0 || (space >= 0 && space < brace)) continue; // no labels: no container
    const close = line.lastIndexOf("}");
    if (close < brace) continue;
    const name = line.slice(0, brace);
    for (const m of line.slice(brace + 1, close).matchAll(HEX_RUN)) {
      const short = m[0].slice(0, SHORT_ID);
      if (!wanted.has(short)) continue;
      let s = seen.get(name);
      if (!s) {
        s = new Set();
        seen.set(name, s);
      }
      s.add(short);
    }
  }
  return new Map([...seen].map(([name, s]) => [name, s.size]));
}

/** The families that carry a series for every one of `count` containers, sorted. */
export function familiesCoveringAll(families: ReadonlyMap<string, number>, count: number): string[] {
  return [...families]
    .filter(([, n]) => n >= count)
    .map(([name]) => name)
    .sort();
}

/** How many of `ids` have at least one series in the exposition (readiness: all containers seen). */
export function containersSeen(body: string, ids: Iterable<string>): number {
  let most = 0;
  for (const n of containerFamilies(body, ids).values()) most = Math.max(most, n);
  return most;
}
