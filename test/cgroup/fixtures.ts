/** The cgroup fixture trees (test/fixtures/cgroup/{v1,v2}) and the names used inside them. */
import { readCgroupMounts } from "../../cgroup/mounts.js";
import type { CgroupMounts } from "../../cgroup/types.js";
import { fixturePath } from "../helpers/paths.js";

export const V1_ROOT = fixturePath("cgroup", "v1");
export const V2_ROOT = fixturePath("cgroup", "v2");
export const V1_PROC = `${V1_ROOT}/proc`;
export const V2_PROC = `${V2_ROOT}/proc`;

/** v1 (hybrid, cpu,cpuacct co-mounted): a burstable k8s pod container (limits on the pod) and a docker container. */
export const ID_A = "3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
export const POD_UID_A = "0d2d3a6e-3c1b-4e0a-9c36-5a4b2f1e7d10";
export const PATH_A = `/kubepods/burstable/pod${POD_UID_A}/${ID_A}`;
export const ID_A2 = "0".repeat(64);
export const ID_B = "b0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5061728394a5b6c7d8e9f0";
export const PATH_B = `/docker/${ID_B}`;

/** v2: a k8s systemd-driver containerd container (limits on the pod slice) and a docker systemd container. */
export const ID_C = "c0ffee00".repeat(8);
export const POD_UID_C = "7c4e2a10-5b3d-4f6e-8a9b-0c1d2e3f4a5b";
export const PATH_C = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_C.replaceAll("-", "_")}.slice/cri-containerd-${ID_C}.scope`;
export const ID_D = "d15ea5e0".repeat(8);
export const PATH_D = `/system.slice/docker-${ID_D}.scope`;

export const v1Mounts = (): CgroupMounts => readCgroupMounts(V1_PROC, { pathPrefix: V1_ROOT });
export const v2Mounts = (): CgroupMounts => readCgroupMounts(V2_PROC, { pathPrefix: V2_ROOT });

export const MiB = 1024 * 1024;
