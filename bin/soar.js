#!/usr/bin/env node
import { main } from '../dist/soar.js';

process.exitCode = await main(process.argv.slice(2));
