import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCriLogPath, parseDockerLogPath } from "./cri-path.js";

const uid = "5f0c6e7e-3b1a-4c8e-9a51-0f2d3c4b5a69";

test("CRI pod log paths: the live file, kubelet's rotated and compressed ones", () => {
  const dir = `/var/log/pods/kube-system_coredns-7db6d8ff4d-x2x9k_${uid}/coredns`;
  const base = {
    namespace: "kube-system",
    pod: "coredns-7db6d8ff4d-x2x9k",
    podUid: uid,
    container: "coredns",
  };
  assert.deepEqual(parseCriLogPath(`${dir}/0.log`), { ...base, restart: 0, file: "live" });
  assert.deepEqual(parseCriLogPath(`${dir}/12.log.20261207-170850`), {
    ...base,
    restart: 12,
    file: "rotated",
    rotatedAt: "20261207-170850",
  });
  assert.deepEqual(parseCriLogPath(`${dir}/3.log.20261207-170850.gz`), {
    ...base,
    restart: 3,
    file: "compressed",
    rotatedAt: "20261207-170850",
  });
  // A static pod: its uid is a hex hash, its name has the node's name (a subdomain) in it.
  const staticPod = parseCriLogPath(
    "/var/log/pods/kube-system_etcd-node-1.example.com_2b1ab1e0f5b1c6f1d7b3e4c7a6a9c0d1/etcd/0.log",
  );
  assert.deepEqual(
    [staticPod?.pod, staticPod?.podUid],
    ["etcd-node-1.example.com", "2b1ab1e0f5b1c6f1d7b3e4c7a6a9c0d1"],
  );
  assert.equal(parseCriLogPath(`pods/default_web_${uid}/app/0.log`)?.pod, "web", "any root");
});

test("paths that only look like CRI pod logs do not match", () => {
  const ok = `default_web_${uid}`;
  for (const path of [
    `/var/log/pods/${ok}/app/0.log.20261207-170850.gz.tmp`, // kubelet's gzip in progress
    `/var/log/pods/${ok}/app/0.log.tmp`,
    `/var/log/pods/${ok}/app/01.log`,
    `/var/log/pods/${ok}/app/x.log`,
    `/var/log/pods/${ok}/app/0.log.1`,
    `/var/log/pods/${ok}/app/0.txt`,
    `/var/log/pods/${ok}/0.log`,
    `/var/log/pods/default_web_x_${uid}/app/0.log`, // a "_" too many
    `/var/log/pods/default_web/app/0.log`,
    `/var/log/pods/Default_web_${uid}/app/0.log`, // upper case is no DNS label
    `/var/log/pods/default_-web_${uid}/app/0.log`,
    `/var/log/pods/default.ns_web_${uid}/app/0.log`, // a namespace is a label, not a subdomain
    `/var/log/pods/default_web_${uid}/App/0.log`,
    `/var/log/pods/default_web_not a uid/app/0.log`,
    `/var/log/pods/${"n".repeat(64)}_web_${uid}/app/0.log`,
    "/var/log/containers/web_default_app-0123.log",
    "0.log",
  ]) {
    assert.equal(parseCriLogPath(path), undefined, path);
  }
});

test("Docker json-file paths: the container id, rotated and compressed files", () => {
  const id = "3f4e1b2c9d8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e";
  const dir = `/var/lib/docker/containers/${id}`;
  assert.deepEqual(parseDockerLogPath(`${dir}/${id}-json.log`), { containerId: id, file: "live" });
  assert.deepEqual(parseDockerLogPath(`${dir}/${id}-json.log.1`), {
    containerId: id,
    file: "rotated",
    rotation: 1,
  });
  assert.deepEqual(parseDockerLogPath(`${dir}/${id}-json.log.4.gz`), {
    containerId: id,
    file: "compressed",
    rotation: 4,
  });
  const other = `${id.slice(0, 63)}0`;
  for (const path of [
    `${dir}/${other}-json.log`,
    `${dir}/${id}-json.log.0`,
    `${dir}/${id}-json.log.gz`,
    `${dir}/${id}.log`,
    `${dir}/config.v2.json`,
    `/var/lib/docker/containers/${id.toUpperCase()}/${id.toUpperCase()}-json.log`,
    `/var/lib/docker/containers/${id.slice(1)}/${id.slice(1)}-json.log`,
    `${id}-json.log`,
  ]) {
    assert.equal(parseDockerLogPath(path), undefined, path);
  }
});
