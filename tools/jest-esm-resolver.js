// Jest resolves with the "require" condition only. execa 9 and chokidar 5 (and their dependencies) are ESM-only
// packages whose exports offer just "import"; retry those with the import condition so @swc/jest can turn them into CommonJS.
module.exports = (request, options) => {
  try {
    return options.defaultResolver(request, options);
  } catch (error) {
    return options.defaultResolver(request, { ...options, conditions: ['import', 'node', 'default'] });
  }
};
