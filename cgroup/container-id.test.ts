import assert from "node:assert/strict";
import { test } from "node:test";
import { containerIdentityFromPath } from "./container-id.js";
import type { ContainerIdentity } from "./types.js";

const ID = "3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
const UID = "0d2d3a6e-3c1b-4e0a-9c36-5a4b2f1e7d10";
const UID_ = UID.replaceAll("-", "_");

const cases: ReadonlyArray<[string, string, ContainerIdentity | undefined]> = [
  ["docker cgroupfs", `/docker/${ID}`, { id: ID, runtime: "docker" }],
  ["docker cgroupfs, sub-cgroup inside", `/docker/${ID}/init.scope`, { id: ID, runtime: "docker" }],
  ["docker systemd", `/system.slice/docker-${ID}.scope`, { id: ID, runtime: "docker" }],
  ["containerd default namespace", `/default/${ID}`, { id: ID, runtime: "containerd" }],
  ["containerd k8s.io namespace", `/k8s.io/${ID}`, { id: ID, runtime: "containerd" }],
  ["containerd systemd", `/system.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: "containerd" }],
  ["cri-o", `/machine.slice/crio-${ID}.scope`, { id: ID, runtime: "cri-o" }],
  ["cri-o conmon is not the container", `/machine.slice/crio-conmon-${ID}.scope`, undefined],
  ["podman systemd", `/machine.slice/libpod-${ID}.scope`, { id: ID, runtime: "podman" }],
  ["podman cgroupfs", `/libpod_parent/libpod-${ID}`, { id: ID, runtime: "podman" }],
  ["podman conmon is not the container", `/machine.slice/libpod-conmon-${ID}.scope`, undefined],
  [
    "k8s cgroupfs burstable",
    `/kubepods/burstable/pod${UID}/${ID}`,
    { id: ID, runtime: "unknown", podUid: UID, qosClass: "burstable" },
  ],
  [
    "k8s cgroupfs besteffort",
    `/kubepods/besteffort/pod${UID}/${ID}`,
    { id: ID, runtime: "unknown", podUid: UID, qosClass: "besteffort" },
  ],
  [
    "k8s cgroupfs guaranteed (pod directly under kubepods)",
    `/kubepods/pod${UID}/${ID}`,
    { id: ID, runtime: "unknown", podUid: UID, qosClass: "guaranteed" },
  ],
  [
    "k8s systemd burstable containerd",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { id: ID, runtime: "containerd", podUid: UID, qosClass: "burstable" },
  ],
  [
    "k8s systemd besteffort cri-o",
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
    { id: ID, runtime: "cri-o", podUid: UID, qosClass: "besteffort" },
  ],
  [
    "k8s systemd guaranteed docker",
    `/kubepods.slice/kubepods-pod${UID_}.slice/docker-${ID}.scope`,
    { id: ID, runtime: "docker", podUid: UID, qosClass: "guaranteed" },
  ],
  [
    "containerd under its own unit, colon form",
    `/system.slice/containerd.service/kubepods-besteffort-pod${UID_}.slice:cri-containerd:${ID}`,
    { id: ID, runtime: "containerd", podUid: UID, qosClass: "besteffort" },
  ],
  [
    "cri-o colon form, guaranteed",
    `/system.slice/crio.service/kubepods-pod${UID_}.slice:crio:${ID}`,
    { id: ID, runtime: "cri-o", podUid: UID, qosClass: "guaranteed" },
  ],
  ["k8s pod slice alone is not a container", `/kubepods.slice/kubepods-pod${UID_}.slice`, undefined],
  ["host root", "/", undefined],
  ["systemd service", "/system.slice/cron.service", undefined],
  ["32-hex session ids are not containers", "/process_api/3ce63d91b84b30e4f0832714851aa772", undefined],
  ["uppercase hex is not a runtime id", `/docker/${ID.toUpperCase()}`, undefined],
  [
    "docker in docker: the outermost container wins",
    `/docker/${ID}/docker/${"a".repeat(64)}`,
    { id: ID, runtime: "docker" },
  ],
];

for (const [name, path, want] of cases) {
  test(`containerIdentityFromPath: ${name}`, () => {
    assert.deepEqual(containerIdentityFromPath(path), want);
  });
}
