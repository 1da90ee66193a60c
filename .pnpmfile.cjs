// Native addons (better-sqlite3) fall back to compiling with node-gyp when no prebuilt binary
// can be downloaded. node-gyp then needs Node's headers; without `npm_config_nodedir` it tries
// to download those too, which fails on machines that reach only the package registry. Point
// it at the headers of the Node that runs the install, when they are there.
const { existsSync } = require('node:fs');
const { delimiter, dirname, join } = require('node:path');

function nodePrefixWithHeaders() {
  const candidates = [dirname(dirname(process.execPath))];
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory && existsSync(join(directory, 'node'))) candidates.push(dirname(directory));
  }
  return candidates.find((prefix) => existsSync(join(prefix, 'include', 'node', 'node.h')));
}

module.exports = {
  hooks: {
    updateConfig(config) {
      const prefix = process.env.npm_config_nodedir ?? nodePrefixWithHeaders();
      if (prefix) config.extraEnv = { ...config.extraEnv, npm_config_nodedir: prefix };
      return config;
    },
  },
};
