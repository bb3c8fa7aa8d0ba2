import { parse, stringify } from "yaml";

interface Route {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

/**
 * A test copy of alerts/alertmanager.yml: the same routes, receivers and inhibit rules, with every
 * webhook URL pointed at the test's receivers (`pe` → `${peUrl}/pe`, `team-x` → `${teamUrl}/team/x`)
 * and the waits shortened so a test sees a notification within seconds.
 */
export function testAlertmanagerConfig(realYaml: string, urls: { pe: string; team: string }): string {
  const doc = parse(realYaml) as {
    route: Route;
    receivers: { name: string; webhook_configs?: { url: string }[] }[];
  };
  const shorten = (r: Route): void => {
    if (r.group_wait !== undefined) r.group_wait = "1s";
    if (r.group_interval !== undefined) r.group_interval = "1s";
    if (r.repeat_interval !== undefined) r.repeat_interval = "1m";
    for (const c of r.routes ?? []) shorten(c);
  };
  shorten(doc.route);
  doc.route.group_wait = "1s";
  doc.route.group_interval = "1s";
  for (const rcv of doc.receivers) {
    for (const w of rcv.webhook_configs ?? []) {
      if (rcv.name === "pe") w.url = `${urls.pe}/pe`;
      else if (rcv.name.startsWith("team-")) w.url = `${urls.team}/team/${rcv.name.slice("team-".length)}`;
      else throw new Error(`receiver ${rcv.name} has a webhook the test does not know how to redirect`);
    }
  }
  return stringify(doc);
}
