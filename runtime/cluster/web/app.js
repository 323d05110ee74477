// The flinkrs web UI: a small single-page app over Flink's REST API, from the same origin.
//
// Pages are hash routes: #/overview, #/jobs, #/jobs/<id>/<tab> (overview, exceptions,
// checkpoints, configuration), #/jobs/<id>/vertices/<vertex id>, #/taskmanagers,
// #/taskmanagers/<id> and #/jobmanager. A page fetches what it shows and returns its parts,
// each a piece of HTML under a key. The page is fetched again every second; a part is
// replaced only when its HTML changed, and the element that had the keyboard focus (found by
// its data-key) gets it back, so the live refresh never moves the focus or wipes an input.
'use strict';

(() => {
  const REFRESH_MS = 1000;
  const LONG_MIN = '-9223372036854775808';
  const TERMINAL = ['FINISHED', 'CANCELED', 'FAILED', 'SUSPENDED'];
  const JOB_TABS = [
    ['overview', 'Overview'],
    ['exceptions', 'Exceptions'],
    ['checkpoints', 'Checkpoints'],
    ['configuration', 'Configuration'],
  ];

  /** What the user typed or started, kept across refreshes. */
  const state = { savepointDirectory: '', operations: {} };

  // ---------------------------------------------------------------------------------------
  // Formatting

  function esc(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    }[c]));
  }

  function time(millis) {
    if (!(millis > 0)) return '–';
    return new Date(millis).toISOString().replace('T', ' ').slice(0, 19);
  }

  function duration(millis) {
    if (millis === undefined || millis === null || millis < 0) return '–';
    if (millis < 1000) return `${Math.round(millis)} ms`;
    let seconds = Math.floor(millis / 1000);
    const days = Math.floor(seconds / 86400);
    seconds -= days * 86400;
    const hours = Math.floor(seconds / 3600);
    seconds -= hours * 3600;
    const minutes = Math.floor(seconds / 60);
    seconds -= minutes * 60;
    const parts = [];
    if (days) parts.push(`${days}d`);
    if (hours) parts.push(`${hours}h`);
    if (minutes) parts.push(`${minutes}m`);
    parts.push(`${seconds}s`);
    return parts.slice(0, 3).join(' ');
  }

  function count(value) {
    return Number(value || 0).toLocaleString('en-US');
  }

  function bytes(value) {
    let n = Number(value || 0);
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let unit = 0;
    while (n >= 1024 && unit < units.length - 1) {
      n /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
  }

  function percent(millisPerSecond) {
    if (millisPerSecond === undefined || millisPerSecond === null) return '–';
    return `${Math.round(Math.min(1000, Math.max(0, millisPerSecond)) / 10)}%`;
  }

  function watermark(value) {
    if (value === undefined || value === null) return '–';
    if (String(value) === LONG_MIN) return 'No watermark';
    return time(Number(value));
  }

  function badge(status) {
    return `<span class="state ${esc(status)}">${esc(status)}</span>`;
  }

  function table(headers, rows, empty) {
    if (!rows.length) return `<p class="empty">${esc(empty)}</p>`;
    const head = headers
      .map((h) => (h.startsWith('#') ? `<th class="num" scope="col">${esc(h.slice(1))}</th>` : `<th scope="col">${esc(h)}</th>`))
      .join('');
    const body = rows
      .map((row) => `<tr>${row.map((cell, i) => (headers[i].startsWith('#') ? `<td class="num">${cell}</td>` : `<td>${cell}</td>`)).join('')}</tr>`)
      .join('');
    return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
  }

  function pairs(entries) {
    return `<dl class="pairs">${entries.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  }

  function cards(entries) {
    return `<div class="cards">${entries
      .map(([label, value, id]) => `<div class="card"><div class="label">${esc(label)}</div><div class="value" data-stat="${esc(id)}">${esc(value)}</div></div>`)
      .join('')}</div>`;
  }

  // ---------------------------------------------------------------------------------------
  // The REST API

  class RestError extends Error {
    constructor(path, status, message) {
      super(message);
      this.path = path;
      this.status = status;
    }
  }

  async function rest(path, options) {
    const response = await fetch(path, Object.assign({ headers: { Accept: 'application/json' } }, options || {}));
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const reason = body && Array.isArray(body.errors) ? body.errors.join('; ') : text || response.statusText;
      throw new RestError(path, response.status, reason);
    }
    return body;
  }

  function send(method, path, body) {
    return rest(path, {
      method,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  // ---------------------------------------------------------------------------------------
  // Pages: each returns its parts, [key, html] pairs.

  async function overviewPage() {
    const [overview, jobs] = await Promise.all([rest('/overview'), rest('/jobs/overview')]);
    const list = jobs.jobs.slice().sort((a, b) => b['start-time'] - a['start-time']);
    const running = list.filter((job) => !TERMINAL.includes(job.state));
    const ended = list.filter((job) => TERMINAL.includes(job.state));
    return [
      ['title', `<h1>Overview</h1><p class="sub">Flink ${esc(overview['flink-version'])} REST API, served by flinkrs</p>`],
      ['cards', cards([
        ['TaskManagers', overview.taskmanagers, 'taskmanagers'],
        ['Slots total', overview['slots-total'], 'slots-total'],
        ['Slots available', overview['slots-available'], 'slots-available'],
        ['Running jobs', overview['jobs-running'], 'jobs-running'],
        ['Finished jobs', overview['jobs-finished'], 'jobs-finished'],
        ['Cancelled jobs', overview['jobs-cancelled'], 'jobs-cancelled'],
        ['Failed jobs', overview['jobs-failed'], 'jobs-failed'],
      ])],
      ['running', `<h2>Running jobs</h2>${jobTable(running, 'No job is running.')}`],
      ['ended', `<h2>Completed jobs</h2>${jobTable(ended, 'No job has ended yet.')}`],
    ];
  }

  function taskCounts(tasks) {
    const shown = ['running', 'finished', 'canceled', 'failed']
      .filter((name) => tasks[name])
      .map((name) => `${count(tasks[name])} ${name}`);
    return `${count(tasks.total)} total${shown.length ? ` (${shown.join(', ')})` : ''}`;
  }

  function jobTable(jobs, empty) {
    return table(
      ['Job', 'Job ID', 'State', 'Start time', '#Duration', 'End time', 'Tasks'],
      jobs.map((job) => [
        `<a href="#/jobs/${esc(job.jid)}/overview" data-key="job-${esc(job.jid)}" data-job="${esc(job.jid)}">${esc(job.name)}</a>`,
        `<code>${esc(job.jid)}</code>`,
        badge(job.state),
        esc(time(job['start-time'])),
        esc(duration(job.duration)),
        esc(time(job['end-time'])),
        esc(taskCounts(job.tasks)),
      ]),
      empty,
    );
  }

  async function jobsPage() {
    const jobs = await rest('/jobs/overview');
    const list = jobs.jobs.slice().sort((a, b) => b['start-time'] - a['start-time']);
    return [
      ['title', '<h1>Jobs</h1>'],
      ['jobs', jobTable(list, 'The JobManager has no job yet.')],
    ];
  }

  async function taskManagersPage() {
    const answer = await rest('/taskmanagers');
    return [
      ['title', '<h1>TaskManagers</h1>'],
      ['taskmanagers', table(
        ['TaskManager', 'Address', '#Data port', 'Last heartbeat', '#Slots', '#Free slots', '#Assigned tasks', '#CPU cores', '#Physical memory'],
        answer.taskmanagers.map((tm) => [
          `<a href="#/taskmanagers/${encodeURIComponent(tm.id)}" data-key="tm-${esc(tm.id)}" data-taskmanager="${esc(tm.id)}">${esc(tm.id)}</a>`,
          esc(tm.path),
          esc(tm.dataPort),
          esc(time(tm.timeSinceLastHeartbeat)),
          esc(tm.slotsNumber),
          esc(tm.freeSlots),
          esc(tm.assignedTasks),
          esc(tm.hardware.cpuCores),
          esc(bytes(tm.hardware.physicalMemory)),
        ]),
        'No TaskManager is registered.',
      )],
    ];
  }

  async function taskManagerPage(id) {
    const tm = await rest(`/taskmanagers/${encodeURIComponent(id)}`);
    // Flink's memory metrics of a TaskManager's JVM; flinkrs has none to report, so only
    // those with a value are shown.
    const metrics = Object.entries(tm.metrics || {})
      .filter(([, value]) => typeof value === 'number' && value !== 0)
      .map(([name, value]) => [name, esc(count(value))]);
    return [
      ['title', `<h1>TaskManager ${esc(tm.id)}</h1><p class="sub"><a href="#/taskmanagers" data-key="back">All TaskManagers</a></p>`],
      ['info', pairs([
        ['Address', esc(tm.path)],
        ['Data port', esc(tm.dataPort)],
        ['Last heartbeat', esc(time(tm.timeSinceLastHeartbeat))],
        ['Slots', esc(tm.slotsNumber)],
        ['Free slots', esc(tm.freeSlots)],
        ['Assigned tasks', esc(tm.assignedTasks)],
        ['CPU cores', esc(tm.hardware.cpuCores)],
        ['Physical memory', esc(bytes(tm.hardware.physicalMemory))],
      ])],
      ['slots', `<h2>Allocated slots</h2>${table(
        ['Job', '#Assigned tasks'],
        (tm.allocatedSlots || []).map((slot, index) => [
          `<a href="#/jobs/${esc(slot.jobId)}/overview" data-key="slot-${index}">${esc(slot.jobId)}</a>`,
          esc(slot.assignedTasks),
        ]),
        'No slot is allocated.',
      )}`],
      ['metrics', `<h2>Metrics</h2>${metrics.length ? pairs(metrics) : '<p class="empty">The TaskManager reports no memory metrics (it runs no JVM).</p>'}`],
    ];
  }

  async function jobManagerPage() {
    const [config, entries] = await Promise.all([rest('/config'), rest('/jobmanager/config')]);
    const sorted = entries.slice().sort((a, b) => a.key.localeCompare(b.key));
    return [
      ['title', `<h1>JobManager</h1><p class="sub">Flink ${esc(config['flink-version'])}, ${esc(config['flink-revision'])}</p>`],
      ['config', `<h2>Configuration</h2>${table(
        ['Key', 'Value'],
        sorted.map((entry) => [`<code>${esc(entry.key)}</code>`, `<code>${esc(entry.value)}</code>`]),
        'No configuration.',
      )}`],
    ];
  }

  // ---------------------------------------------------------------------------------------
  // A job

  function jobParts(job, current) {
    const running = !TERMINAL.includes(job.state);
    const operation = state.operations[job.jid] || '';
    const disabled = running ? '' : ' disabled';
    return [
      ['head', `<h1>${esc(job.name)} ${badge(job.state)}</h1>`
        + `<p class="sub"><code>${esc(job.jid)}</code> · ${esc(job['job-type'])} · started ${esc(time(job['start-time']))} · `
        + `<span data-stat="duration">${esc(duration(job.duration))}</span></p>`],
      ['actions', `<div class="actions" role="group" aria-label="Job actions">`
        + `<label>Savepoint directory (empty: execution.checkpointing.savepoint-dir)`
        + `<input id="savepoint-directory" data-key="savepoint-directory" type="text" value="${esc(state.savepointDirectory)}" spellcheck="false"></label>`
        + `<button type="button" data-key="action-savepoint" data-action="savepoint" data-job="${esc(job.jid)}"${disabled}>Trigger savepoint</button>`
        + `<button type="button" data-key="action-stop" data-action="stop" data-job="${esc(job.jid)}"${disabled}>Stop with savepoint</button>`
        + `<button type="button" class="danger" data-key="action-cancel" data-action="cancel" data-job="${esc(job.jid)}"${disabled}>Cancel job</button>`
        + `<span class="result" data-operation>${esc(operation)}</span></div>`],
      ['tabs', `<nav aria-label="Job"><ul class="tabs">${JOB_TABS.map(([tab, label]) => `<li><a href="#/jobs/${esc(job.jid)}/${tab}" data-key="tab-${tab}"${tab === current ? ' aria-current="page"' : ''}>${label}</a></li>`).join('')}</ul></nav>`],
    ];
  }

  /** Each vertex's backpressure, busy time (max over subtasks, ms per second) and lowest watermark. */
  async function vertexLiveMetrics(job) {
    if (TERMINAL.includes(job.state)) return {};
    const entries = await Promise.all(job.vertices.map(async (vertex) => {
      const base = `/jobs/${job.jid}/vertices/${vertex.id}`;
      const [aggregated, watermarks] = await Promise.all([
        rest(`${base}/subtasks/metrics?get=backPressuredTimeMsPerSecond,busyTimeMsPerSecond`),
        rest(`${base}/watermarks`),
      ]);
      const metric = (name) => {
        const found = aggregated.find((m) => m.id === name);
        return found ? found.max : undefined;
      };
      let low;
      for (const entry of watermarks) {
        if (low === undefined || BigInt(entry.value) < BigInt(low)) low = entry.value;
      }
      return [vertex.id, {
        backpressure: metric('backPressuredTimeMsPerSecond'),
        busy: metric('busyTimeMsPerSecond'),
        watermark: low,
      }];
    }));
    return Object.fromEntries(entries);
  }

  async function jobPage(id, tab) {
    const job = await rest(`/jobs/${id}`);
    const parts = jobParts(job, tab);
    if (tab === 'exceptions') {
      parts.push(['body', exceptionsTab(await rest(`/jobs/${id}/exceptions`))]);
    } else if (tab === 'checkpoints') {
      parts.push(['body', await checkpointsTab(id)]);
    } else if (tab === 'configuration') {
      parts.push(['body', configurationTab(await rest(`/jobs/${id}/config`))]);
    } else {
      const live = await vertexLiveMetrics(job);
      parts.push(['body', `<h2>Job graph</h2>${graph(job, live)}<h2>Vertices</h2>${vertexTable(job, live)}`]);
    }
    return parts;
  }

  const BOX_WIDTH = 300;
  const BOX_HEIGHT = 132;
  const COLUMN_GAP = 90;
  const ROW_GAP = 30;
  const MARGIN = 20;

  /** The job graph as SVG: one box per vertex, sources on the left, edges labelled by how they ship. */
  function graph(job, live) {
    const nodes = job.plan.nodes;
    const byId = Object.fromEntries(nodes.map((node) => [node.id, node]));
    const level = {};
    const levelOf = (node, seen) => {
      if (level[node.id] !== undefined) return level[node.id];
      if (seen.has(node.id)) return 0;
      seen.add(node.id);
      const inputs = (node.inputs || []).map((input) => byId[input.id]).filter(Boolean);
      level[node.id] = inputs.length ? 1 + Math.max(...inputs.map((input) => levelOf(input, seen))) : 0;
      return level[node.id];
    };
    // Sources first, in the order the job's vertices are listed.
    const ordered = job.vertices.map((vertex) => byId[vertex.id]).filter(Boolean);
    for (const node of nodes) if (!ordered.includes(node)) ordered.push(node);
    const rows = {};
    const position = {};
    for (const node of ordered) {
      const column = levelOf(node, new Set());
      const row = rows[column] || 0;
      rows[column] = row + 1;
      position[node.id] = {
        x: MARGIN + column * (BOX_WIDTH + COLUMN_GAP),
        y: MARGIN + row * (BOX_HEIGHT + ROW_GAP),
      };
    }
    const columns = Math.max(1, ...Object.keys(rows).map((c) => Number(c) + 1));
    const height = Math.max(1, ...Object.values(rows));
    const width = MARGIN * 2 + columns * BOX_WIDTH + (columns - 1) * COLUMN_GAP;
    const svgHeight = MARGIN * 2 + height * BOX_HEIGHT + (height - 1) * ROW_GAP;
    const vertices = Object.fromEntries(job.vertices.map((vertex) => [vertex.id, vertex]));

    const edges = [];
    for (const node of ordered) {
      for (const input of node.inputs || []) {
        const from = position[input.id];
        const to = position[node.id];
        if (!from || !to) continue;
        const x1 = from.x + BOX_WIDTH;
        const y1 = from.y + BOX_HEIGHT / 2;
        const x2 = to.x;
        const y2 = to.y + BOX_HEIGHT / 2;
        const mid = (x1 + x2) / 2;
        edges.push(`<path class="edge" data-edge="${esc(input.id)}-${esc(node.id)}" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 6},${y2}" marker-end="url(#arrow)"/>`
          + `<text class="edge-label" x="${mid}" y="${(y1 + y2) / 2 - 6}" text-anchor="middle">${esc(input.ship_strategy)}</text>`);
      }
    }
    const boxes = ordered.map((node) => {
      const vertex = vertices[node.id] || { name: node.description, metrics: {}, status: '' };
      const metrics = vertex.metrics || {};
      const extra = live[node.id] || {};
      const { x, y } = position[node.id];
      const title = vertex.name.split(' -> ').join(' → ');
      const short = title.length > 40 ? `${title.slice(0, 39)}…` : title;
      const busy = extra.busy === undefined ? 0 : Math.min(1000, extra.busy) / 1000;
      const lines = [
        [`Parallelism: ${node.parallelism} · ${vertex.status}`, 'parallelism'],
        [`Records in ${count(metrics['read-records'])} · out ${count(metrics['write-records'])}`, 'records'],
        [`Bytes in ${bytes(metrics['read-bytes'])} · out ${bytes(metrics['write-bytes'])}`, 'bytes'],
        [`Backpressured ${percent(extra.backpressure)} · Busy ${percent(extra.busy)}`, 'load'],
        [`Low watermark: ${watermark(extra.watermark)}`, 'watermark'],
      ];
      return `<a href="#/jobs/${esc(job.jid)}/vertices/${esc(node.id)}" class="vertex" data-key="vertex-${esc(node.id)}" data-vertex="${esc(node.id)}" data-parallelism="${esc(node.parallelism)}" aria-label="${esc(`${vertex.name}, parallelism ${node.parallelism}`)}">`
        + `<title>${esc(vertex.name)}</title>`
        + `<rect class="box" x="${x}" y="${y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="6"/>`
        + `<text class="name" x="${x + 12}" y="${y + 22}">${esc(short)}</text>`
        + lines.map(([text, kind], i) => `<text data-line="${kind}" x="${x + 12}" y="${y + 44 + i * 18}">${esc(text)}</text>`).join('')
        + `<rect class="busy-bar" x="${x}" y="${y + BOX_HEIGHT - 4}" width="${BOX_WIDTH}" height="4"/>`
        + `<rect class="busy-fill" x="${x}" y="${y + BOX_HEIGHT - 4}" width="${(BOX_WIDTH * busy).toFixed(1)}" height="4"/>`
        + '</a>';
    });
    return `<div class="graph"><svg role="group" aria-label="Job graph: ${ordered.length} vertices" width="${width}" height="${svgHeight}" viewBox="0 0 ${width} ${svgHeight}">`
      + '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#7d8aa3"/></marker></defs>'
      + edges.join('') + boxes.join('') + '</svg></div>';
  }

  function vertexTable(job, live) {
    return table(
      ['Vertex', 'Status', '#Parallelism', '#Records received', '#Records sent', '#Bytes received', '#Bytes sent', '#Backpressured (max)', '#Busy (max)', 'Low watermark', '#Duration'],
      job.vertices.map((vertex) => {
        const extra = live[vertex.id] || {};
        return [
          `<a href="#/jobs/${esc(job.jid)}/vertices/${esc(vertex.id)}" data-key="row-${esc(vertex.id)}">${esc(vertex.name)}</a>`,
          badge(vertex.status),
          esc(vertex.parallelism),
          esc(count(vertex.metrics['read-records'])),
          esc(count(vertex.metrics['write-records'])),
          esc(bytes(vertex.metrics['read-bytes'])),
          esc(bytes(vertex.metrics['write-bytes'])),
          esc(percent(extra.backpressure)),
          esc(percent(extra.busy)),
          esc(watermark(extra.watermark)),
          esc(duration(vertex.duration)),
        ];
      }),
      'The job has no vertices yet.',
    );
  }

  async function vertexPage(jobId, vertexId) {
    const job = await rest(`/jobs/${jobId}`);
    const vertex = await rest(`/jobs/${jobId}/vertices/${vertexId}`);
    const parts = jobParts(job, '');
    parts.push(['body', `<h2>${esc(vertex.name)}</h2>`
      + `<p class="sub">Parallelism ${esc(vertex.parallelism)}, max parallelism ${esc(vertex.maxParallelism)} · <a href="#/jobs/${esc(jobId)}/overview" data-key="back">Back to the job graph</a></p>`
      + table(
        ['#Subtask', 'Status', '#Attempt', 'TaskManager', 'Endpoint', '#Records received', '#Records sent', '#Bytes received', '#Bytes sent', '#Busy time', '#Backpressured time', '#Duration'],
        vertex.subtasks.map((subtask) => [
          esc(subtask.subtask),
          badge(subtask.status),
          esc(subtask.attempt),
          esc(subtask['taskmanager-id']),
          esc(subtask.endpoint),
          esc(count(subtask.metrics['read-records'])),
          esc(count(subtask.metrics['write-records'])),
          esc(bytes(subtask.metrics['read-bytes'])),
          esc(bytes(subtask.metrics['write-bytes'])),
          esc(duration(subtask.metrics['accumulated-busy-time'])),
          esc(duration(subtask.metrics['accumulated-backpressured-time'])),
          esc(duration(subtask.duration)),
        ]),
        'No subtasks.',
      )]);
    return parts;
  }

  function exceptionsTab(answer) {
    const entries = answer.exceptionHistory.entries;
    if (!entries.length) return '<h2>Exceptions</h2><p class="empty" data-exceptions="0">The job has no exceptions.</p>';
    return `<h2>Exceptions</h2><div data-exceptions="${entries.length}">${entries
      .map((entry) => `<h3>${esc(time(entry.timestamp))} · ${esc(entry.exceptionName)}</h3><pre>${esc(entry.stacktrace)}</pre>`)
      .join('')}</div>`;
  }

  function configurationTab(answer) {
    const config = answer['execution-config'];
    const user = Object.entries(config['user-config'] || {}).sort(([a], [b]) => a.localeCompare(b));
    return '<h2>Execution configuration</h2>' + pairs([
      ['Job parallelism', esc(config['job-parallelism'])],
      ['Restart strategy', esc(config['restart-strategy'])],
      ['Object reuse', esc(config['object-reuse-mode'] ? 'on' : 'off')],
    ]) + `<h2>Job configuration</h2>${table(
      ['Key', 'Value'],
      user.map(([key, value]) => [`<code>${esc(key)}</code>`, `<code>${esc(value)}</code>`]),
      'The job sets no configuration of its own.',
    )}`;
  }

  function checkpointLine(label, checkpoint) {
    if (!checkpoint) return [label, '<span class="empty">None</span>'];
    const details = [`#${checkpoint.id}`, time(checkpoint.latest_ack_timestamp > 0 ? checkpoint.latest_ack_timestamp : checkpoint.trigger_timestamp),
      duration(checkpoint.end_to_end_duration), bytes(checkpoint.checkpointed_size)];
    if (checkpoint.external_path) details.push(checkpoint.external_path);
    if (checkpoint.failure_message) details.push(checkpoint.failure_message);
    return [label, esc(details.join(' · '))];
  }

  async function checkpointsTab(id) {
    const stats = await rest(`/jobs/${id}/checkpoints`);
    const counts = stats.counts;
    // Flink answers 404 for the settings of a job that takes no checkpoints: they are asked
    // for only once the job has triggered one.
    const config = counts.total > 0 ? await rest(`/jobs/${id}/checkpoints/config`) : null;
    const summary = stats.summary;
    const restored = stats.latest.restored;
    const history = stats.history.map((checkpoint) => [
      `<span data-checkpoint="${esc(checkpoint.id)}">${esc(checkpoint.id)}</span>`,
      badge(checkpoint.status),
      esc(checkpoint.is_savepoint ? 'Savepoint' : 'Checkpoint'),
      esc(time(checkpoint.trigger_timestamp)),
      esc(time(checkpoint.latest_ack_timestamp)),
      esc(duration(checkpoint.end_to_end_duration)),
      esc(bytes(checkpoint.checkpointed_size)),
      esc(`${checkpoint.num_acknowledged_subtasks}/${checkpoint.num_subtasks}`),
      `<code>${esc(checkpoint.external_path || checkpoint.failure_message || '')}</code>`,
    ]);
    let html = '<h2>Counts</h2>' + cards([
      ['Triggered', counts.total, 'checkpoints-total'],
      ['In progress', counts.in_progress, 'checkpoints-in-progress'],
      ['Completed', counts.completed, 'checkpoints-completed'],
      ['Failed', counts.failed, 'checkpoints-failed'],
      ['Restored', counts.restored, 'checkpoints-restored'],
    ]);
    html += '<h2>Latest</h2>' + pairs([
      checkpointLine('Completed checkpoint', stats.latest.completed),
      checkpointLine('Savepoint', stats.latest.savepoint),
      checkpointLine('Failed checkpoint', stats.latest.failed),
      ['Restore', restored
        ? esc(`#${restored.id} · ${time(restored.restore_timestamp)} · ${restored.is_savepoint ? 'savepoint' : 'checkpoint'}${restored.external_path ? ` · ${restored.external_path}` : ''}`)
        : '<span class="empty">None</span>'],
    ]);
    html += '<h2>Summary of completed checkpoints</h2>' + table(
      ['', '#Minimum', '#Average', '#Maximum'],
      [
        ['Checkpointed size', esc(bytes(summary.checkpointed_size.min)), esc(bytes(summary.checkpointed_size.avg)), esc(bytes(summary.checkpointed_size.max))],
        ['End-to-end duration', esc(duration(summary.end_to_end_duration.min)), esc(duration(summary.end_to_end_duration.avg)), esc(duration(summary.end_to_end_duration.max))],
      ],
      '',
    );
    html += `<h2>History</h2>${table(
      ['#ID', 'Status', 'Type', 'Triggered', 'Acknowledged', '#Duration', '#Size', '#Subtasks', 'Path'],
      history,
      'No checkpoint yet.',
    )}`;
    if (config) {
      html += '<h2>Configuration</h2>' + pairs([
        ['Mode', esc(config.mode)],
        ['Interval', esc(duration(config.interval))],
        ['Timeout', esc(duration(config.timeout))],
        ['Minimum pause', esc(duration(config.min_pause))],
        ['Maximum concurrent', esc(config.max_concurrent)],
        ['Retained', esc(config.externalization.enabled ? (config.externalization.delete_on_cancellation ? 'on failure' : 'on failure and cancellation') : 'no')],
        ['Storage', esc(config.checkpoint_storage)],
        ['Tolerable failed checkpoints', esc(config.tolerable_failed_checkpoints)],
      ]);
    }
    return html;
  }

  // ---------------------------------------------------------------------------------------
  // Actions

  async function pollOperation(jobId, triggerId, what) {
    for (;;) {
      const answer = await rest(`/jobs/${jobId}/savepoints/${triggerId}`);
      if (answer.status.id === 'COMPLETED') {
        const operation = answer.operation || {};
        if (operation.location) return `${what} completed: ${operation.location}`;
        const cause = operation['failure-cause'] || {};
        return `${what} failed: ${cause['stack-trace'] || cause.class || 'unknown reason'}`;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  async function act(action, jobId) {
    const directory = state.savepointDirectory.trim();
    const report = (text) => {
      state.operations[jobId] = text;
      const notice = document.getElementById('notice');
      notice.textContent = text;
      clearTimeout(notice.timer);
      notice.timer = setTimeout(() => { notice.textContent = ''; }, 5000);
      refreshSoon();
    };
    try {
      if (action === 'cancel') {
        report('Cancelling the job…');
        await send('PATCH', `/jobs/${jobId}?mode=cancel`);
        report('Cancel requested.');
      } else if (action === 'savepoint' || action === 'stop') {
        const what = action === 'stop' ? 'Stop with savepoint' : 'Savepoint';
        const body = action === 'stop'
          ? Object.assign({ drain: false }, directory ? { targetDirectory: directory } : {})
          : Object.assign({ 'cancel-job': false }, directory ? { 'target-directory': directory } : {});
        report(`${what}: triggering…`);
        const trigger = await send('POST', `/jobs/${jobId}/${action === 'stop' ? 'stop' : 'savepoints'}`, body);
        report(`${what}: in progress…`);
        report(await pollOperation(jobId, trigger['request-id'], what));
      }
    } catch (error) {
      report(`Failed: ${error.message}`);
    }
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button || button.disabled) return;
    act(button.dataset.action, button.dataset.job);
  });

  document.addEventListener('input', (event) => {
    if (event.target.id === 'savepoint-directory') state.savepointDirectory = event.target.value;
  });

  // ---------------------------------------------------------------------------------------
  // Routing, rendering and the live refresh

  function currentPage() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    const hex = /^[0-9a-fA-F]{32}$/;
    if (parts[0] === 'jobs' && parts[1] && hex.test(parts[1])) {
      if (parts[2] === 'vertices' && parts[3] && hex.test(parts[3])) {
        return { nav: 'jobs', title: 'Vertex', load: () => vertexPage(parts[1], parts[3]) };
      }
      const tab = JOB_TABS.some(([name]) => name === parts[2]) ? parts[2] : 'overview';
      return { nav: 'jobs', title: 'Job', load: () => jobPage(parts[1], tab) };
    }
    if (parts[0] === 'jobs') return { nav: 'jobs', title: 'Jobs', load: jobsPage };
    if (parts[0] === 'taskmanagers' && parts[1]) {
      return { nav: 'taskmanagers', title: 'TaskManager', load: () => taskManagerPage(parts[1]) };
    }
    if (parts[0] === 'taskmanagers') return { nav: 'taskmanagers', title: 'TaskManagers', load: taskManagersPage };
    if (parts[0] === 'jobmanager') return { nav: 'jobmanager', title: 'JobManager', load: jobManagerPage };
    return { nav: 'overview', title: 'Overview', load: overviewPage };
  }

  /** Replaces `section`'s content with `html` if it changed, giving the focus back by data-key. */
  function replace(section, html) {
    if (section.dataset.html === html) return;
    const active = document.activeElement;
    const key = active && section.contains(active) ? active.dataset.key : undefined;
    const selection = key && active.tagName === 'INPUT' ? [active.selectionStart, active.selectionEnd] : null;
    section.innerHTML = html;
    section.dataset.html = html;
    if (key) {
      const again = section.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) {
        again.focus({ preventScroll: true });
        if (selection) again.setSelectionRange(selection[0], selection[1]);
      }
    }
  }

  let generation = 0;
  let timer = null;

  async function render(navigated) {
    const mine = ++generation;
    const page = currentPage();
    let parts;
    let failure = null;
    try {
      parts = await page.load();
    } catch (error) {
      failure = error;
      parts = [['error', `<h1>${esc(page.title)}</h1><p class="error" role="alert">${esc(error instanceof RestError ? `${error.path}: ${error.status} ${error.message}` : `The REST API is unreachable: ${error.message}`)}</p>`]];
    }
    if (mine !== generation) return;
    const view = document.getElementById('view');
    const keys = parts.map(([key]) => key).join(' ');
    if (view.dataset.keys !== keys) {
      view.innerHTML = parts.map(([key]) => `<section data-part="${esc(key)}"></section>`).join('');
      view.dataset.keys = keys;
    }
    for (const [key, html] of parts) replace(view.querySelector(`[data-part="${CSS.escape(key)}"]`), html);
    for (const link of document.querySelectorAll('.top nav a')) {
      if (link.dataset.page === page.nav) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    document.title = `${page.title} · flinkrs`;
    const live = document.getElementById('live');
    live.textContent = failure && !(failure instanceof RestError) ? 'REST API unreachable' : `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
    live.classList.toggle('down', Boolean(failure) && !(failure instanceof RestError));
    // For whoever measures how fast the page shows its data (the browser test does).
    if (!failure && !performance.getEntriesByName('flinkrs-first-render').length) {
      performance.mark('flinkrs-first-render');
    }
    if (navigated && (document.activeElement === document.body || !document.activeElement)) {
      document.getElementById('main').focus({ preventScroll: true });
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      await render(false);
      schedule();
    }, REFRESH_MS);
  }

  function refreshSoon() {
    clearTimeout(timer);
    render(false).then(schedule);
  }

  window.addEventListener('hashchange', () => {
    clearTimeout(timer);
    render(true).then(schedule);
  });

  // The first load leaves the focus to the browser: the skip link is the first stop of Tab.
  if (!location.hash) history.replaceState(null, '', '#/overview');
  render(false).then(schedule);
})();
