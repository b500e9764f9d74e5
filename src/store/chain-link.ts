import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Chain, ChainCheckpointDetail } from "../gen/grpcaudit/v1/event.js";

/** Tags (field number << 3 | wire type) of the AuditEvent fields the plan reads: `chain` (16) and the checkpoint detail (25). */
const TAG = { CHAIN: 130, CHECKPOINT: 202 } as const;

/**
 * The chain link of a stored event, or undefined when it has none or cannot be read. Reads only the
 * top-level tags, the `chain` message and a checkpoint's detail (a tenth of a full decode): the last
 * of each wins, as in `decodeEvent`. A row it misreads is no risk: verify decodes every event and
 * reports what is wrong.
 * @internal
 */
export function chainLinkOf(
  bytes: Uint8Array,
): { chainId: string; seq: number; checkpoint: boolean; final: boolean } | undefined {
  try {
    const reader = new BinaryReader(bytes);
    let chain: Chain | undefined;
    let checkpoint: ChainCheckpointDetail | undefined;
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === TAG.CHAIN) chain = Chain.decode(reader, reader.uint32());
      else if (tag === TAG.CHECKPOINT) checkpoint = ChainCheckpointDetail.decode(reader, reader.uint32());
      else if (tag === 0 || (tag & 7) === 4)
        break; // the end of the message, as the decoder takes it
      else reader.skip(tag & 7);
    }
    if (chain === undefined) return undefined;
    const final = checkpoint?.final === true;
    return { chainId: chain.chainId, seq: chain.seq, checkpoint: checkpoint !== undefined, final };
  } catch {
    return undefined; // damaged: verify reports it; by time, as an unchained event
  }
}
