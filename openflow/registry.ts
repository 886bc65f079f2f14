// The message registry: every OpenFlow message is declared once, in its family's file under
// openflow/messages/ (type code, wire versions, read and write side by side, the way Open vSwitch's
// lib/ofp-msgs.h lists one row per message), and this module builds the lookup tables that
// decodeMessage and encodeMessage dispatch on.
import { CodecError, type Reader, type Writer } from './buf.js';
import type { DecodeResult, OfMessage, OfMessageMap, WireVersion } from './types.js';

/** The type names of declared messages (every `OfMessage` type but `raw`). */
export type DeclaredType = keyof OfMessageMap;

/** What a declaration may ask of the whole codec: only bundles need it (they carry a message). */
export interface InnerCodec {
  decode(buf: Buffer): DecodeResult<OfMessage>;
  write(w: Writer, msg: OfMessage): void;
}

export interface MessageDecl<T extends DeclaredType = DeclaredType, C extends number = number> {
  readonly type: T;
  /** OFPT_* code in the header. */
  readonly code: C;
  /** Wire versions whose `code` carries this message; on the others it decodes as `raw` and does not encode. */
  readonly versions: readonly WireVersion[] | 'any';
  /** Also carried, on these versions, inside OFPT_EXPERIMENTER (experimenter id + type, then the body). */
  readonly experimenter?: { readonly id: number; readonly expType: number; readonly versions: readonly WireVersion[] };
  /** Reads the body (the reader covers exactly it). Undefined: this version's layout of the
   * message is not modelled, and it stays `raw` rather than being misread. */
  read(r: Reader, version: WireVersion, xid: number, codec: InnerCodec): OfMessageMap[T] | undefined;
  /** Writes the body after the header. */
  write(w: Writer, msg: OfMessageMap[T], codec: InnerCodec): void;
}

/** Declares one message; only there so the literal type and code are kept for derived tables. */
export function defineMessage<const T extends DeclaredType, const C extends number>(d: MessageDecl<T, C>): MessageDecl<T, C> {
  return d;
}

/** OFPT_* constants derived from the declarations: OFPT.FLOW_MOD === 14. */
export type OfptTable<D extends readonly MessageDecl[]> = { readonly [M in D[number] as Uppercase<M['type']>]: M['code'] };

/** A declaration flattened for dispatch: one shape for every entry (so the codec's property
 * reads stay monomorphic), version sets as bit masks (bit v = wire version v). */
export interface RegistryEntry {
  readonly type: DeclaredType;
  readonly code: number;
  readonly versions: number;
  readonly experimenterVersions: number;
  /** 0 when none. */
  readonly experimenterId: number;
  readonly experimenterType: number;
  readonly read: MessageDecl['read'];
  readonly write: MessageDecl['write'];
}

export interface Registry {
  /** By header type code. */
  readonly byCode: readonly (RegistryEntry | undefined)[];
  readonly byType: ReadonlyMap<string, RegistryEntry>;
  /** By experimenter id and type (`${id}:${expType}`). */
  readonly byExperimenter: ReadonlyMap<string, RegistryEntry>;
}

function versionMask(versions: readonly WireVersion[] | 'any'): number {
  if (versions === 'any') return 0xffffffff;
  let m = 0;
  for (const v of versions) m |= 1 << v;
  return m;
}

export const experimenterKey = (id: number, expType: number): string => `${id}:${expType}`;

/** Builds the lookup tables; two declarations of one code, type or experimenter type are a bug. */
export function buildRegistry(decls: readonly MessageDecl[]): Registry {
  const byCode = new Array<RegistryEntry | undefined>(256).fill(undefined);
  const byType = new Map<string, RegistryEntry>();
  const byExperimenter = new Map<string, RegistryEntry>();
  for (const decl of decls) {
    const e: RegistryEntry = {
      type: decl.type, code: decl.code,
      versions: versionMask(decl.versions), experimenterVersions: versionMask(decl.experimenter?.versions ?? []),
      experimenterId: decl.experimenter?.id ?? 0, experimenterType: decl.experimenter?.expType ?? 0,
      // Declarations keep no state in `this`: their functions are taken as they are.
      read: decl.read, write: decl.write,
    };
    const twin = byCode[decl.code];
    if (twin !== undefined) throw new CodecError('bad_value', `OFPT code ${decl.code} declared twice (${twin.type}, ${decl.type})`);
    if (byType.has(decl.type)) throw new CodecError('bad_value', `message ${decl.type} declared twice`);
    byCode[decl.code] = e;
    byType.set(decl.type, e);
    if (decl.experimenter) {
      const k = experimenterKey(decl.experimenter.id, decl.experimenter.expType);
      if (byExperimenter.has(k)) throw new CodecError('bad_value', `experimenter message ${k} declared twice`);
      byExperimenter.set(k, e);
    }
  }
  return { byCode, byType, byExperimenter };
}
