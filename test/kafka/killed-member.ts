import { spawn } from "node:child_process";
import { once } from "node:events";
import { REPO } from "../cli/helpers.js";

/**
 * Joins `groupId` on `topic` from a child process with the real client, then kills that process
 * (SIGKILL): a member that never left, which the group holds until its session (the client's default,
 * 60 s) times out. Resolves once the process is gone.
 */
export async function killedMember(bootstrapBrokers: readonly string[], topic: string, groupId: string) {
  const script = `
    import { Consumer } from "@platformatic/kafka";
    const consumer = new Consumer({ clientId: "killed", bootstrapBrokers: ${JSON.stringify(bootstrapBrokers)}, groupId: ${JSON.stringify(groupId)} });
    await consumer.consume({ topics: [${JSON.stringify(topic)}], mode: "committed", fallbackMode: "earliest", autocommit: false });
    process.stdout.write("joined\\n");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: REPO, // where @platformatic/kafka resolves
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  let out = "";
  for await (const chunk of child.stdout) {
    out += String(chunk);
    if (out.includes("joined")) break;
  }
  if (!out.includes("joined")) throw new Error(`the member process ended without joining: ${out}`);
  child.kill("SIGKILL");
  await exited;
}
