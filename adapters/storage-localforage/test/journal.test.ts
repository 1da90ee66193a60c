import './node-globals.js';
import localforage from 'localforage';
import { describeJournal } from './journal-cases.js';

describeJournal(localforage);
